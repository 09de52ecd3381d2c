import semver from 'semver';
import { z } from 'zod';
import type { PushConfig } from '../services/notifications/PushConfig.js';
import { loadPushConfig, type PushEnv } from './loadPushConfig.js';
import { downstreamServices, serviceEnvName, type DownstreamServices, type ServiceName } from '../services/downstreamServices.js';

/** Everything the BFF and the reference services read from the environment, validated once at start. */
export interface Config {
  /** `production` switches to hash-only operations, no GraphiQL, no introspection. @default 'development' */
  nodeEnv: 'development' | 'production' | 'test';
  /** Push sending by the notifications service (README, Push). */
  push: PushConfig;
  /** @default 4000 */
  port: number;
  /** @default '0.0.0.0' in production, '127.0.0.1' otherwise */
  host: string;
  /** PostgreSQL connection string; unset: embedded PGlite under `dataDir`. */
  databaseUrl: string | undefined;
  /** Redis for scale-out; unset: the in-process bus. */
  redisUrl: string | undefined;
  /** Base URL of each downstream service (`<NAME>_URL`); an unset one is started in-process. */
  services: Record<ServiceName, string | undefined>;
  /** Port of each reference service when run with `npm run services` (`<NAME>_PORT`). */
  servicePorts: Record<ServiceName, number>;
  /** Production auth; unset: the local development key (development only). */
  auth: { jwksUrl: string; issuer: string; audience: string } | undefined;
  /** @default 'require' in production, 'off' otherwise */
  persistedOperations: 'require' | 'allowlist' | 'off';
  /** @default 'persisted-queries' */
  persistedQueriesDir: string;
  /** Which app versions are still served, and which are about to retire (design.md §14). */
  clientVersions: ClientVersionsConfig;
  /** Where embedded PGlite keeps its files. @default '.data' */
  dataDir: string;
  /** Deadline of one downstream call, in milliseconds. @default 2000 */
  downstreamTimeoutMs: number;
  /**
   * How long the change feeds keep the tombstones of deleted rows, in days. A client whose sync
   * token is older than the purged tombstones gets `SYNC_TOKEN_EXPIRED` and syncs again from the
   * start. @default 30
   */
  tombstoneRetentionDays: number;
  /** pino level. @default 'info' ('silent' under test) */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * `pretty`: one readable line per entry, for a person at a terminal; `json`: one JSON object
   * per line, for a log collector. @default 'pretty' when stdout is a terminal and NODE_ENV is
   * not production, else 'json'
   */
  logFormat: 'json' | 'pretty';
  idempotency: {
    /** How long a key is kept from its first use: a retry within it replays, one after it runs anew. @default 7 days */
    keyTtlMs: number;
    /**
     * How long a running request holds its key. Past it, a key whose request died (a crashed
     * instance) is taken over by the next retry. Keep it longer than a mutation can take. @default 30 s
     */
    lockTimeoutMs: number;
    /** How often expired keys are deleted. @default 1 hour */
    purgeIntervalMs: number;
  };
  /** Fault injection, honoured only under `NODE_ENV=test` (refused at start otherwise). */
  testHooks: {
    /** `BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE`: a downstream route (e.g. `POST /orders`) after whose answer the process kills itself with SIGKILL. */
    crashAfterDownstreamWrite: string | undefined;
  };
  /** Deadlines, retries and circuit breakers of downstream calls (design.md §8). */
  resilience: ResilienceConfig;
  /** Limits on what one client may send (design.md §9: `BAD_USER_INPUT`, `RATE_LIMITED`). */
  limits: LimitsConfig;
  /** Shedding load when the event loop lags, and draining on shutdown. */
  lifecycle: LifecycleConfig;
  /** graphql-ws limits and subscription behaviour (design.md §7). */
  webSocket: WebSocketConfig;
  /**
   * Where Prometheus scrapes `/metrics`: a port of its own, never the public one; `undefined`:
   * on the public port (development and test only). @default 9464 in production, unset otherwise
   */
  metricsPort: number | undefined;
  /**
   * Browser origins allowed by CORS on the GraphQL endpoint (exact `scheme://host[:port]`), or
   * `'*'` for any origin but `null`; never with credentials. Empty: no CORS headers at all.
   * @default none in production, '*' otherwise
   */
  corsOrigins: string[] | '*';
  /**
   * `FAST_PATHS=off` turns off what the BFF does beyond stock yoga to answer fast: persisted
   * queries compiled at start, yoga's parse/validate cache, the verified-token cache. Only the
   * benchmark's baseline should want it. @default true
   */
  fastPaths: boolean;
  /**
   * `BY_HASH_LANE=off`: persisted queries by id go through yoga like every other request, instead
   * of the by-hash lane in front of it (src/bff/transport/createByHashLane.ts), which answers them
   * with the same gates and bytes at a fraction of the CPU. Off with `FAST_PATHS=off`. @default true
   */
  byHashLane: boolean;
  /** The response cache of persisted queries (design.md §13). */
  responseCache: ResponseCacheConfig;
}

export interface ResponseCacheConfig {
  /** `RESPONSE_CACHE=off` turns it off. In Redis when `REDIS_URL` is set (shared by instances), else in process. @default true */
  enabled: boolean;
  /** `RESPONSE_CACHE_MAX_ENTRIES`: most results kept (last good ones included). @default 10000 */
  maxEntries: number;
  /** `RESPONSE_CACHE_MAX_BYTES`: most bytes of results kept. @default 67108864 (64 MiB) */
  maxBytes: number;
  /** `RESPONSE_CACHE_STALE_MAX`: how old a last good result may be to answer for a service that is down. @default 1 h */
  staleMaxMs: number;
  /**
   * `RESPONSE_CACHE_FEED_CHECK`: an entry is served only if the change feeds it depends on were
   * read at most this long ago; a lost notice's change is out of the cache within it (plus one
   * feed read). @default 2 s
   */
  feedCheckMs: number;
  /**
   * `RESPONSE_CACHE_REVALIDATED_TTL`: life of an entry whose operation says `maxAge: 0` (the
   * phone revalidates every time, answered from the cache) when all it holds is announced by
   * change notices. @default 60 s
   */
  revalidatedTtlMs: number;
}

export interface ResilienceConfig {
  /** Deadline of one downstream call per service (`<NAME>_TIMEOUT_MS`), in ms. @default DOWNSTREAM_TIMEOUT_MS */
  timeoutsMs: Record<ServiceName, number>;
  /** Time one GraphQL request may spend on downstream calls; the rest of it caps each call's deadline. @default 5000 */
  requestBudgetMs: number;
  /** Retries of an idempotent read (GET) after a refused or dropped connection, 429 or 502/503/504. @default 2 */
  retries: number;
  /** Circuit breaker per service: it opens when more than `errorPercent` of at least `minRequests` calls in `windowMs` failed, and lets one call through after `resetMs`. */
  breaker: { errorPercent: number; minRequests: number; windowMs: number; resetMs: number };
}

export interface ClientVersionsConfig {
  /**
   * `MIN_CLIENT_VERSIONS`: the lowest version served per client name (`apollographql-client-name`);
   * an older one is refused with `UPGRADE_REQUIRED`. Client names not listed pass. @default none
   */
  minimum: ReadonlyMap<string, string>;
  /**
   * `SUNSET_CLIENT_VERSIONS`: versions up to `upTo` of `clientName` retire on `date` (UTC); until
   * then their responses carry `Deprecation` and `Sunset`, from then on they are refused with
   * `UPGRADE_REQUIRED`. @default none
   */
  sunsets: ReadonlyArray<{ clientName: string; upTo: string; date: Date; /** As configured, e.g. `2027-03-01`. */ dateText: string }>;
}

export interface LimitsConfig {
  /** Limits of a free-form document (persisted operations were checked at start). @default depth 12, aliases 20, directives 20, tokens 3000, cost 20000 */
  document: { maxDepth: number; maxAliases: number; maxDirectives: number; maxTokens: number; maxCost: number };
  /** Operations per batched (JSON array) request; 0 refuses batches. @default 0 */
  batchLimit: number;
  /** Largest request body, in bytes; a larger one answers 413. @default 102400 */
  maxBodyBytes: number;
  /** Requests per second and burst per client (the token's `sub`, else the IP); `undefined`: no limit. @default 20/s, burst 40 */
  rateLimit: { perSecond: number; burst: number } | undefined;
  /** Reverse proxies in front of the BFF whose `X-Forwarded-For` entries are trusted for the client IP. @default 0 */
  trustProxyHops: number;
}

export interface WebSocketConfig {
  /** Operations one socket may run at once; one more gets an error for its id. @default 50 */
  maxOperations: number;
  /** Bytes queued for a client that stopped reading before its socket is dropped. @default 1048576 */
  maxBufferedBytes: number;
  /** Browser origins allowed to open a socket (`*`: any); native apps send no Origin. @default '*' in development, none in production */
  allowedOrigins: string[] | '*';
  /** A subscription re-reads its change feed this often without a notice (a lost notice delays an event at most this long); 0: never. @default 60000 */
  resyncIntervalMs: number;
  /** Time a client has to send `connection_init` before its socket is closed with 4408. @default 10000 */
  initTimeoutMs: number;
  /** Sockets one client (token `sub`, else IP) may hold open; one more is closed with 1013. 0: no cap. @default 10 */
  maxSocketsPerClient: number;
  /** Messages one socket may send per second (burst twice that): an operation past it gets a `RATE_LIMITED` error, a ping or pong closes the socket with 1008. 0: no cap. @default 50 */
  maxMessagesPerSecond: number;
}

export interface LifecycleConfig {
  /** Event-loop delay (mean over a sample) above which new requests get 503; 0 turns shedding off. @default 200 */
  maxEventLoopDelayMs: number;
  /** How often the event-loop delay is sampled, in ms. @default 1000 */
  eventLoopSampleMs: number;
  /** On SIGTERM, how long `/ready` fails while requests are still served, so the load balancer stops routing here first. @default 5000 in production, 0 otherwise */
  shutdownDelayMs: number;
  /** How long in-flight requests may take to finish on shutdown before their connections are closed. @default 10000 */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const port = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n > 65535) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from 0 to 65535, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const url = (protocols: string[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      let parsed: URL;
      try {
        parsed = new URL(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: `expected a URL (${protocols.join(' or ')}), got "${v}"` });
        return z.NEVER;
      }
      if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
        ctx.addIssue({ code: 'custom', message: `expected a ${protocols.join(' or ')} URL, got "${v}"` });
        return z.NEVER;
      }
      return v.replace(/\/+$/, '');
    });

const oneOf = <T extends string>(values: readonly T[]) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      if (!(values as readonly string[]).includes(v)) {
        ctx.addIssue({ code: 'custom', message: `expected one of ${values.join(', ')}, got "${v}"` });
        return z.NEVER;
      }
      return v as T;
    });

const positiveInt = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^[1-9]\d*$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `expected a positive integer, got "${v}"` });
        return z.NEVER;
      }
      return Number(v);
    });

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `500ms`, `30s`, `15m`, `1h` or `7d`, in milliseconds. */
const duration = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const match = /^([1-9]\d*)(ms|s|m|h|d)$/.exec(v === undefined || v === '' ? fallback : v);
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 500ms, 30s, 15m, 1h or 7d, got "${v}"` });
        return z.NEVER;
      }
      return Number(match[1]) * DURATION_UNITS[match[2]!]!;
    });

const nonNegativeInt = (fallback: number | undefined, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return fallback;
      if (!/^\d+$/.test(v) || Number(v) > max) {
        ctx.addIssue({ code: 'custom', message: `expected an integer from 0 to ${max}, got "${v}"` });
        return z.NEVER;
      }
      return Number(v);
    });

/** `name=value,name=value` → entries; a name may not repeat. */
function namedList<T>(v: string, what: string, parse: (value: string) => T | { problem: string }, ctx: z.RefinementCtx): [string, T][] | typeof z.NEVER {
  const entries: [string, T][] = [];
  for (const item of v.split(',').map((i) => i.trim()).filter(Boolean)) {
    const at = item.indexOf('=');
    const name = at > 0 ? item.slice(0, at).trim() : '';
    const parsed = at > 0 ? parse(item.slice(at + 1).trim()) : { problem: `expected <client-name>=${what}` };
    if (typeof parsed === 'object' && parsed !== null && 'problem' in parsed) {
      ctx.addIssue({ code: 'custom', message: `"${item}": ${parsed.problem} (e.g. shop-ios=${what === 'version' ? '4.2.0' : '4.1.0@2027-03-01'})` });
      return z.NEVER;
    }
    entries.push([name, parsed]);
  }
  return entries;
}

const strictVersion = (value: string) => (semver.valid(value) ? value : { problem: `expected a semver version such as 4.2.0, got "${value}"` });

const clientMinimumVersions = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const entries = v ? namedList(v, 'version', strictVersion, ctx) : [];
    if (entries === z.NEVER) return z.NEVER;
    const names = entries.map(([name]) => name);
    const repeated = names.find((name, i) => names.indexOf(name) !== i);
    if (repeated) {
      ctx.addIssue({ code: 'custom', message: `the client name "${repeated}" is listed twice` });
      return z.NEVER;
    }
    return new Map(entries);
  });

const clientSunsets = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const entries = v
      ? namedList<{ upTo: string; date: Date; dateText: string }>(
          v,
          'version@date',
          (value) => {
            const [upTo = '', dateText = '', extra] = value.split('@');
            if (extra !== undefined || !value.includes('@') || !semver.valid(upTo)) return { problem: `expected <version>@<date>, the version a semver, got "${value}"` };
            // A day (midnight UTC) or an instant with its zone: a retirement date must mean the same on every instance.
            const valid = /^\d{4}-\d{2}-\d{2}$/.test(dateText) || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(dateText);
            const date = new Date(dateText);
            if (!valid || Number.isNaN(date.getTime())) return { problem: `expected a date such as 2027-03-01 or 2027-03-01T09:00:00Z after "@", got "${dateText}"` };
            return { upTo, date, dateText };
          },
          ctx,
        )
      : [];
    if (entries === z.NEVER) return z.NEVER;
    return entries.map(([clientName, rule]) => ({ clientName, ...rule }));
  });

const envSchema = z.object({
  NODE_ENV: oneOf(['development', 'production', 'test'] as const),
  PORT: port(4000),
  HOST: z.string().optional(),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']),
  AUTH_JWKS_URL: url(['http', 'https']),
  AUTH_ISSUER: z.string().optional(),
  AUTH_AUDIENCE: z.string().optional(),
  PERSISTED_OPERATIONS: oneOf(['require', 'allowlist', 'off'] as const),
  PERSISTED_QUERIES_DIR: z.string().optional(),
  MIN_CLIENT_VERSIONS: clientMinimumVersions,
  SUNSET_CLIENT_VERSIONS: clientSunsets,
  DATA_DIR: z.string().optional(),
  DOWNSTREAM_TIMEOUT_MS: positiveInt(2000),
  TOMBSTONE_RETENTION_DAYS: positiveInt(30),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
  LOG_FORMAT: oneOf(['json', 'pretty'] as const),
  IDEMPOTENCY_KEY_TTL: duration('7d'),
  IDEMPOTENCY_LOCK_TIMEOUT: duration('30s'),
  IDEMPOTENCY_PURGE_INTERVAL: duration('1h'),
  BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: z.string().optional(),
  REQUEST_BUDGET_MS: positiveInt(5000),
  DOWNSTREAM_RETRIES: nonNegativeInt(2, 10),
  BREAKER_ERROR_PERCENT: nonNegativeInt(50, 100),
  BREAKER_MIN_REQUESTS: positiveInt(10),
  BREAKER_WINDOW_MS: positiveInt(10_000),
  BREAKER_RESET_MS: positiveInt(10_000),
  MAX_QUERY_DEPTH: positiveInt(12),
  MAX_ALIASES: nonNegativeInt(20),
  MAX_DIRECTIVES: nonNegativeInt(20),
  MAX_TOKENS: positiveInt(3000),
  MAX_QUERY_COST: positiveInt(20_000),
  BATCH_LIMIT: nonNegativeInt(0, 100),
  MAX_BODY_BYTES: positiveInt(102_400),
  RATE_LIMIT_PER_SECOND: nonNegativeInt(20),
  RATE_LIMIT_BURST: positiveInt(40),
  TRUST_PROXY_HOPS: nonNegativeInt(0, 10),
  OVERLOAD_EVENT_LOOP_DELAY_MS: nonNegativeInt(200),
  SHUTDOWN_DELAY_MS: nonNegativeInt(undefined),
  SHUTDOWN_TIMEOUT_MS: nonNegativeInt(10_000),
  WS_MAX_OPERATIONS: positiveInt(50),
  WS_MAX_BUFFERED_BYTES: positiveInt(1_048_576),
  ALLOWED_ORIGINS: z.string().optional(),
  SUBSCRIPTION_RESYNC_MS: nonNegativeInt(60_000),
  WS_INIT_TIMEOUT_MS: positiveInt(10_000),
  WS_MAX_SOCKETS_PER_CLIENT: nonNegativeInt(10),
  WS_MAX_MESSAGES_PER_SECOND: nonNegativeInt(50),
  METRICS_PORT: z.string().optional(),
  CORS_ORIGINS: z.string().optional(),
  FAST_PATHS: oneOf(['on', 'off'] as const),
  BY_HASH_LANE: oneOf(['on', 'off'] as const),
  RESPONSE_CACHE: oneOf(['on', 'off'] as const),
  RESPONSE_CACHE_MAX_ENTRIES: positiveInt(10_000),
  RESPONSE_CACHE_MAX_BYTES: positiveInt(64 * 1024 * 1024),
  RESPONSE_CACHE_STALE_MAX: duration('1h'),
  RESPONSE_CACHE_FEED_CHECK: duration('2s'),
  RESPONSE_CACHE_REVALIDATED_TTL: duration('60s'),
  PUSH_DEEP_LINK_BASE: z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/.*$/i, 'expected a URL prefix such as mobilebff:// or https://app.example.com/').optional(),
  PUSH_POKE_WINDOW_MS: nonNegativeInt(2000, 600_000),
  PUSH_POLL_INTERVAL_MS: positiveInt(5000),
  PUSH_SEND_CONCURRENCY: positiveInt(1),
  PUSH_SEND_TIMEOUT_MS: positiveInt(10_000),
  PUSH_OUTBOX_RETENTION: duration('3d'),
  APNS_URL: url(['https', 'http']),
  APNS_KEY_FILE: z.string().optional(),
  APNS_KEY_ID: z.string().optional(),
  APNS_TEAM_ID: z.string().optional(),
  APNS_TOPIC: z.string().optional(),
  APNS_CA_FILE: z.string().optional(),
  FCM_URL: url(['https', 'http']),
  FCM_CREDENTIALS_FILE: z.string().optional(),
  FCM_CA_FILE: z.string().optional(),
});

/** A comma-separated list of origins, or `*`; unset or empty: `fallback`. */
function parseOrigins(value: string | undefined, fallback: string[] | '*'): string[] | '*' {
  if (value === undefined || value.trim() === '') return fallback;
  if (value.trim() === '*') return '*';
  return value
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter(Boolean);
}

/** `scheme://host[:port]` exactly as a browser sends it in `Origin` (`null` is not one). */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** The settings of each downstream service, derived from the registry. */
export interface ServiceConfig<S extends string> {
  urls: Record<S, string | undefined>;
  ports: Record<S, number>;
  timeoutsMs: Record<S, number>;
}

/** `<NAME>_URL`, `<NAME>_PORT` and `<NAME>_TIMEOUT_MS` of every service in `registry`. */
function serviceEnvSchema(registry: DownstreamServices) {
  const shape: Record<string, z.ZodType<string | number | undefined>> = {};
  for (const [name, spec] of Object.entries(registry)) {
    shape[serviceEnvName(name, 'URL')] = url(['http', 'https']);
    shape[serviceEnvName(name, 'PORT')] = port(spec.defaultPort);
    shape[serviceEnvName(name, 'TIMEOUT_MS')] = positiveInt(0);
  }
  return z.object(shape);
}

function issueLines(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

function serviceConfig<S extends string>(values: Record<string, string | number | undefined>, registry: DownstreamServices<S>, downstreamTimeoutMs: number): ServiceConfig<S> {
  const names = Object.keys(registry) as S[];
  const each = <T>(fn: (name: S) => T) => Object.fromEntries(names.map((name) => [name, fn(name)])) as Record<S, T>;
  return {
    urls: each((name) => values[serviceEnvName(name, 'URL')] as string | undefined),
    ports: each((name) => values[serviceEnvName(name, 'PORT')] as number),
    timeoutsMs: each((name) => (values[serviceEnvName(name, 'TIMEOUT_MS')] as number) || downstreamTimeoutMs),
  };
}

/**
 * The per-service settings of `registry` alone (for a registry other than the application's, as a
 * test registers a fixture service); `loadConfig` reads the application's with everything else.
 */
export function loadServiceConfig<S extends string>(env: NodeJS.ProcessEnv, registry: DownstreamServices<S>, downstreamTimeoutMs = 2000): ServiceConfig<S> {
  const parsed = serviceEnvSchema(registry).safeParse(env);
  if (!parsed.success) throw new ConfigError(`Invalid configuration:\n  ${issueLines(parsed.error).join('\n  ')}`);
  return serviceConfig(parsed.data, registry, downstreamTimeoutMs);
}

/**
 * Reads and validates the environment. Throws a `ConfigError` naming every variable that is
 * wrong and what was expected, so a bad deployment fails at start rather than on first use.
 * `stdoutIsTerminal` picks the default log format.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, { stdoutIsTerminal = process.stdout.isTTY === true }: { stdoutIsTerminal?: boolean } = {}): Config {
  const parsed = envSchema.safeParse(env);
  const parsedServices = serviceEnvSchema(downstreamServices).safeParse(env);
  if (!parsed.success || !parsedServices.success) {
    const lines = [...(parsed.success ? [] : issueLines(parsed.error)), ...(parsedServices.success ? [] : issueLines(parsedServices.error))];
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const perService = serviceConfig(parsedServices.data, downstreamServices, e.DOWNSTREAM_TIMEOUT_MS);
  const nodeEnv = e.NODE_ENV ?? 'development';
  const problems: string[] = [];

  const authVars = { AUTH_JWKS_URL: e.AUTH_JWKS_URL, AUTH_ISSUER: e.AUTH_ISSUER, AUTH_AUDIENCE: e.AUTH_AUDIENCE };
  const authSet = Object.entries(authVars).filter(([, v]) => v);
  if (authSet.length > 0 && authSet.length < 3) {
    for (const [name, v] of Object.entries(authVars)) {
      if (!v) problems.push(`${name}: required when any of AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE is set`);
    }
  }
  if (nodeEnv === 'production') {
    if (authSet.length === 0) {
      problems.push('AUTH_JWKS_URL: required when NODE_ENV=production (with AUTH_ISSUER and AUTH_AUDIENCE); the development key is refused there');
    }
    if (!e.DATABASE_URL) {
      problems.push('DATABASE_URL: required when NODE_ENV=production (embedded PGlite belongs to one process)');
    }
  }
  if (e.BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE && nodeEnv !== 'test') {
    problems.push(`BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: a test hook, only allowed when NODE_ENV=test (NODE_ENV is ${nodeEnv})`);
  }
  const push = loadPushConfig(e as PushEnv, nodeEnv, problems);
  let metricsPort: number | undefined;
  if (e.METRICS_PORT) {
    if (!/^\d+$/.test(e.METRICS_PORT) || Number(e.METRICS_PORT) > 65535) problems.push(`METRICS_PORT: expected an integer from 0 to 65535, got "${e.METRICS_PORT}"`);
    else metricsPort = Number(e.METRICS_PORT);
  } else if (nodeEnv === 'production') {
    metricsPort = 9464;
  }
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === e.PORT) {
    problems.push(`METRICS_PORT: must differ from PORT (${e.PORT}); /metrics is never served on the public port`);
  }
  const corsOrigins = parseOrigins(e.CORS_ORIGINS, nodeEnv === 'production' ? [] : '*');
  if (Array.isArray(corsOrigins)) {
    for (const origin of corsOrigins) {
      if (!isOrigin(origin)) problems.push(`CORS_ORIGINS: expected comma-separated origins such as https://app.example.com (scheme, host, optional port; no path), or *; got "${origin}"`);
    }
  }
  if (problems.length) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);

  return {
    nodeEnv,
    push,
    port: e.PORT,
    host: e.HOST || (nodeEnv === 'production' ? '0.0.0.0' : '127.0.0.1'),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    services: perService.urls,
    servicePorts: perService.ports,
    auth: authSet.length === 3 ? { jwksUrl: e.AUTH_JWKS_URL!, issuer: e.AUTH_ISSUER!, audience: e.AUTH_AUDIENCE! } : undefined,
    persistedOperations: e.PERSISTED_OPERATIONS ?? (nodeEnv === 'production' ? 'require' : 'off'),
    persistedQueriesDir: e.PERSISTED_QUERIES_DIR || 'persisted-queries',
    clientVersions: { minimum: e.MIN_CLIENT_VERSIONS, sunsets: e.SUNSET_CLIENT_VERSIONS },
    dataDir: e.DATA_DIR || '.data',
    downstreamTimeoutMs: e.DOWNSTREAM_TIMEOUT_MS,
    tombstoneRetentionDays: e.TOMBSTONE_RETENTION_DAYS,
    logLevel: e.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    logFormat: e.LOG_FORMAT ?? (stdoutIsTerminal && nodeEnv !== 'production' ? 'pretty' : 'json'),
    idempotency: { keyTtlMs: e.IDEMPOTENCY_KEY_TTL, lockTimeoutMs: e.IDEMPOTENCY_LOCK_TIMEOUT, purgeIntervalMs: e.IDEMPOTENCY_PURGE_INTERVAL },
    testHooks: { crashAfterDownstreamWrite: e.BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE || undefined },
    resilience: {
      timeoutsMs: perService.timeoutsMs,
      requestBudgetMs: e.REQUEST_BUDGET_MS,
      retries: e.DOWNSTREAM_RETRIES!,
      breaker: { errorPercent: e.BREAKER_ERROR_PERCENT!, minRequests: e.BREAKER_MIN_REQUESTS, windowMs: e.BREAKER_WINDOW_MS, resetMs: e.BREAKER_RESET_MS },
    },
    limits: {
      document: { maxDepth: e.MAX_QUERY_DEPTH, maxAliases: e.MAX_ALIASES!, maxDirectives: e.MAX_DIRECTIVES!, maxTokens: e.MAX_TOKENS, maxCost: e.MAX_QUERY_COST },
      batchLimit: e.BATCH_LIMIT!,
      maxBodyBytes: e.MAX_BODY_BYTES,
      rateLimit: e.RATE_LIMIT_PER_SECOND ? { perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST } : undefined,
      trustProxyHops: e.TRUST_PROXY_HOPS!,
    },
    lifecycle: {
      maxEventLoopDelayMs: e.OVERLOAD_EVENT_LOOP_DELAY_MS!,
      eventLoopSampleMs: 1000,
      shutdownDelayMs: e.SHUTDOWN_DELAY_MS ?? (nodeEnv === 'production' ? 5000 : 0),
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS!,
    },
    webSocket: {
      maxOperations: e.WS_MAX_OPERATIONS,
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      allowedOrigins:
        e.ALLOWED_ORIGINS === undefined || e.ALLOWED_ORIGINS === ''
          ? nodeEnv === 'production'
            ? []
            : '*'
          : e.ALLOWED_ORIGINS.trim() === '*'
            ? '*'
            : e.ALLOWED_ORIGINS.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean),
      resyncIntervalMs: e.SUBSCRIPTION_RESYNC_MS!,
      initTimeoutMs: e.WS_INIT_TIMEOUT_MS,
      maxSocketsPerClient: e.WS_MAX_SOCKETS_PER_CLIENT!,
      maxMessagesPerSecond: e.WS_MAX_MESSAGES_PER_SECOND!,
    },
    metricsPort,
    corsOrigins,
    fastPaths: e.FAST_PATHS !== 'off',
    byHashLane: e.FAST_PATHS !== 'off' && e.BY_HASH_LANE !== 'off',
    responseCache: {
      enabled: e.RESPONSE_CACHE !== 'off',
      maxEntries: e.RESPONSE_CACHE_MAX_ENTRIES,
      maxBytes: e.RESPONSE_CACHE_MAX_BYTES,
      staleMaxMs: e.RESPONSE_CACHE_STALE_MAX,
      feedCheckMs: e.RESPONSE_CACHE_FEED_CHECK,
      revalidatedTtlMs: e.RESPONSE_CACHE_REVALIDATED_TTL,
    },
  };
}

/** For entry points: the config, or the process exits with status 1 after printing what is wrong (no stack). */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
