import type { ServiceErrorBody } from '../../contracts/index.js';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';


declare module 'fastify' {
  interface FastifyRequest {
    /** The label this request is counted under in `/stats`, e.g. `GET /products?ids`. */
    statLabel?: string;
  }
}

/**
 * A Fastify app with what all reference services share: `/health`, per-route request counters
 * at `/stats` (tests and operators read them to see how many calls the BFF made; a route with
 * `config: { uncounted: true }`, which only other services call, is left out), and JSON
 * errors `{ code, message }` that never carry a stack.
 */
export function createServiceApp(name: string): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024, forceCloseConnections: true });
  const counts = new Map<string, number>();

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || route === '/health' || route === '/stats' || (request.routeOptions.config as { uncounted?: boolean }).uncounted) return;
    const label = request.statLabel ?? `${request.method} ${route}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
    void reply;
  });

  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    // A value the database refused (a NUL, bytes that are no UTF-8, a date that is no date): the
    // caller's input, not this service's failure, so never a 500 that a breaker would count.
    if (isDataException(error)) {
      void reply.code(400).send({ code: 'INVALID_INPUT', message: 'A value was refused by the database (malformed text, number or date).' } satisfies ServiceErrorBody);
      return;
    }
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) {
      void reply.code(500).send({ code: 'INTERNAL', message: `${name}: internal error` } satisfies ServiceErrorBody);
      return;
    }
    void reply.code(status).send({ code: 'BAD_REQUEST', message: error.message } satisfies ServiceErrorBody);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'NOT_FOUND', message: `${request.method} ${request.url.split('?')[0]} is not a route of ${name}` });
  });

  app.get('/health', async () => ({ status: 'ok', service: name }));
  app.get('/stats', async () => ({ service: name, requests: Object.fromEntries(counts) }));
  return app;
}

/**
 * PostgreSQL's "data exception" (SQLSTATE class 22: invalid text representation, untranslatable
 * character, datetime out of range…), from pg or PGlite, bare or wrapped by drizzle as `cause`.
 */
function isDataException(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code)) return true;
  }
  return false;
}

export function reject(reply: FastifyReply, status: number, body: ServiceErrorBody): FastifyReply {
  return reply.code(status).send(body);
}

/** Parses `?ids=a,b,c`: 1 to 500 non-empty ids. Returns an error message for anything else. */
export function parseIds(raw: unknown): string[] | string {
  // A repeated `ids=` arrives as an array.
  if (typeof raw !== 'string') return 'ids: expected one comma-separated list of ids';
  const ids = raw.split(',').map((s) => s.trim());
  if (ids.length === 0 || ids.length > 500 || ids.some((id) => id === '')) {
    return `ids: expected 1 to 500 comma-separated ids, got ${ids.length}`;
  }
  return ids;
}

/** Parses a keyset position `["v1", "v2"]` of `arity` values; undefined when absent, a message when malformed. */
export function parseKeyset(raw: string | undefined, arity: number): unknown[] | undefined | string {
  if (raw === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    if (Array.isArray(value) && value.length === arity && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
      return value;
    }
  } catch {
    // fall through
  }
  return `expected a JSON array of ${arity} sort values, got ${JSON.stringify(raw.slice(0, 80))}`;
}

/** Parses `?limit=`: an integer from 1 to `max`, `fallback` when absent; a message for anything else. */
export function parseLimit(raw: string | undefined, max = 101, fallback = 20): number | string {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : `limit: expected an integer from 1 to ${max}, got ${JSON.stringify(raw)}`;
}

/** Validates a JSON body with zod; on failure answers 400 `{ code: 'INVALID_INPUT', field, message }` and returns undefined. */
export function parseBody<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } } },
  body: unknown,
  reply: FastifyReply,
): T | undefined {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.');
  void reject(reply, 400, { code: 'INVALID_INPUT', field, message: `${field || 'body'}: ${issue.message}` });
  return undefined;
}
