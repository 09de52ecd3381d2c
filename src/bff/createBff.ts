import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GraphQLError } from 'graphql';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createYoga, useReadinessCheck, type Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { cacheVerifiedTokens, createTokenVerifier, signDevToken } from '../auth/index.js';
import type { Config } from '../config/loadConfig.js';
import type { Bus } from '../bus/index.js';
import { migrate, type Database } from '../db/index.js';
import { projectRoot } from '../util/projectRoot.js';
import { authenticate } from './auth/authenticate.js';
import type { Context } from './context.js';
import { createSchema } from './createSchema.js';
import { createDownstreamClient, type ServiceName } from './downstream/createDownstreamClient.js';
import { createReadCoalescer } from './downstream/createReadCoalescer.js';
import { maskAndLog, maskError } from './errors/index.js';
import { createIdempotencyStore, createRequestIdempotency } from './idempotency/index.js';
import { clientAddress, createAdmission, createEventLoopMonitor, createMemoryRateLimiter, createRedisRateLimiter } from './limits/index.js';
import { createLoaders } from './loaders/createLoaders.js';
import { clientLabels } from './metrics/clientLabels.js';
import { createMetrics } from './metrics/createMetrics.js';
import type { UserModel } from './models.js';
import { ManifestError, watchPersistedOperations, type PersistedOperations } from './persisted/index.js';
import { clientIdentityOf, createClientVersionPolicy, type ClientIdentity } from './clients/index.js';
import { useClientVersionPolicy } from './plugins/useClientVersionPolicy.js';
import { useClientSchemaEndpoint } from './plugins/useClientSchemaEndpoint.js';
import { useAdmission } from './plugins/useAdmission.js';
import { useCompression } from './plugins/useCompression.js';
import { corsAllows, useCors } from './plugins/useCors.js';
import { createByHashLane } from './transport/createByHashLane.js';
import { createLearnedTexts } from './transport/createLearnedTexts.js';
import { useCsrfPrevention } from './plugins/useCsrfPrevention.js';
import { useDisableIntrospection } from './plugins/useDisableIntrospection.js';
import { useErrorCodes } from './plugins/useErrorCodes.js';
import { useHttpCaching } from './plugins/useHttpCaching.js';
import { useIdempotency } from './plugins/useIdempotency.js';
import { useIncrementalDelivery } from './plugins/useIncrementalDelivery.js';
import { useInputValidation } from './plugins/useInputValidation.js';
import { useMaskedErrorsWithRequestLog } from './plugins/useMaskedErrorsWithRequestLog.js';
import { useRequestBodyLimit } from './plugins/useRequestBodyLimit.js';
import { useMetricsEndpoint } from './plugins/useMetricsEndpoint.js';
import { useMultipartSubscriptions } from './plugins/useMultipartSubscriptions.js';
import { useOperationLimits } from './plugins/useOperationLimits.js';
import { useSubscriptionExpiry } from './plugins/useSubscriptionExpiry.js';
import { usePersistedOperations } from './plugins/usePersistedOperations.js';
import { responseCacheStep, usePersistedResponseCache } from './plugins/usePersistedResponseCache.js';
import { createResponseStore } from './responseCache/createResponseStore.js';
import { createResponseCache, createDependencies, recordDependencies, type ResponseCache } from './responseCache/index.js';
import { changeFeedReaders } from './responseCache/changeFeedReaders.js';
import { ensureViewerProfile } from './auth/ensureViewerProfile.js';
import { createHttpServer } from './transport/createHttpServer.js';
import { createMetricsServer } from './transport/createMetricsServer.js';
import { createSocketGate } from './transport/createSocketGate.js';
import { requestIdOf } from './transport/requestIdOf.js';
import { createWebSocketTransport } from './transport/createWebSocketTransport.js';

/** Creates or upgrades the BFF's own schema (`bff`: idempotency keys); `start()` runs it. */
export function migrateBff(database: Database): Promise<void> {
  return migrate(database, { schema: 'bff', folder: join(projectRoot(), 'src/bff/migrations') });
}

export interface BffOptions {
  config: Config;
  /** The BFF's own database: readiness, and its tables in the `bff` schema (idempotency keys), migrated by `start()`. */
  database: Database;
  /** Base URL of each downstream service. */
  serviceUrls: Record<ServiceName, string>;
  /** Change notices from the services, for subscriptions. */
  bus: Bus;
  logger: Logger;
  /** More yoga plugins, after the BFF's own (tests use it to observe the pipeline). */
  plugins?: Plugin[];
}

const ENDPOINTS = new Set(['/graphql', '/health', '/ready', '/metrics', '/schema.graphqls']);

/** What yoga's node:http adapter passes plugins as the server context. */
type NodeServerContext = { req?: IncomingMessage };

const SAMPLE_QUERY = `# The viewer and the first products. Press the play button.
query Home {
  viewer { id name email }
  products(first: 5) {
    edges { node { id name price { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}
`;

/**
 * The BFF: graphql-yoga on node:http, graphql-ws on the same port and path. Creating it loads the
 * schema and validates every persisted-operation manifest (a `ManifestError` means it must not
 * start); from `start()` on, the manifest folder is watched and reloaded on change
 * (`reloadPersistedOperations()` for SIGHUP). `start()` migrates the BFF's tables, listens and starts purging expired idempotency
 * keys; `stop()` drains: `/ready` fails first (for `shutdownDelayMs`), then the listener closes,
 * in-flight requests finish, WebSockets close with 1001, the purge stops, and the downstream
 * connections and the rate limiter's Redis close.
 */
export function createBff({ config, database, serviceUrls, bus, logger, plugins: extraPlugins = [] }: BffOptions) {
  const production = config.nodeEnv === 'production';
  const schema = createSchema();
  const metrics = createMetrics();
  const persisted = watchPersistedOperations({
    schema,
    dir: resolve(config.persistedQueriesDir),
    compile: config.fastPaths,
    logger,
    onReload: (result) => metrics.manifestReloads.inc({ result }),
    refuseEmpty: config.persistedOperations === 'require',
  });
  const operations = (): PersistedOperations => persisted.current.operations;
  if (config.persistedOperations === 'require' && operations().byId.size === 0) {
    throw new ManifestError(
      `PERSISTED_QUERIES_DIR: no persisted operation in ${resolve(config.persistedQueriesDir)}, and PERSISTED_OPERATIONS=require runs only those: every request would be refused. Add the apps' manifests (*.json), or set PERSISTED_OPERATIONS.`,
    );
  }
  // Metric labels for apollographql-client-name / -version, bounded by the manifests serving now.
  const labelsOf = new WeakMap<PersistedOperations, ReturnType<typeof clientLabels>>();
  const clientLabelsOf = ({ name, version }: ClientIdentity) => {
    const current = operations();
    let labels = labelsOf.get(current);
    if (!labels) labelsOf.set(current, (labels = clientLabels(current.manifests)));
    return labels(name, version);
  };
  const versionPolicy = createClientVersionPolicy(config.clientVersions);
  const { resilience, limits, lifecycle } = config;
  const crashAfter = config.nodeEnv === 'test' ? config.testHooks.crashAfterDownstreamWrite : undefined;
  const downstreamClient = createDownstreamClient({
    urls: serviceUrls,
    timeoutMs: resilience.timeoutsMs,
    retries: resilience.retries,
    breaker: resilience.breaker,
    metrics,
    // Test builds only: die between a downstream write and the storing of its outcome.
    afterCall: crashAfter
      ? ({ route, status }) => {
          if (route === crashAfter && status < 300) process.kill(process.pid, 'SIGKILL');
        }
      : undefined,
  });
  const idempotencyStore = createIdempotencyStore({ database, keyTtlMs: config.idempotency.keyTtlMs, lockTimeoutMs: config.idempotency.lockTimeoutMs });
  const verifier = config.fastPaths ? cacheVerifiedTokens(createTokenVerifier({ auth: config.auth })) : createTokenVerifier({ auth: config.auth });
  // Each HTTP request's logger (its request id), for yoga's context factory (createHttpServer sets it).
  const requestLogs = new WeakMap<IncomingMessage, Logger>();
  const rateLimiter =
    limits.rateLimit && (config.redisUrl ? createRedisRateLimiter({ url: config.redisUrl, ...limits.rateLimit, logger }) : createMemoryRateLimiter(limits.rateLimit));
  const eventLoop = createEventLoopMonitor({ maxDelayMs: lifecycle.maxEventLoopDelayMs, sampleIntervalMs: lifecycle.eventLoopSampleMs });
  // 9 MB of script: parsing it blocks the event loop for a quarter of a second or more, so it is
  // loaded at start in development (where a person opens GraphiQL), else on the first page
  // request; production never serves GraphiQL and never loads it.
  let graphiqlModule: Promise<typeof import('@graphql-yoga/render-graphiql')> | undefined;
  const loadGraphiQL = () => (graphiqlModule ??= import('@graphql-yoga/render-graphiql'));
  // One admission for every operation, whatever carries it: HTTP (useAdmission) and each WebSocket operation.
  const admission = createAdmission({
    ...(lifecycle.maxEventLoopDelayMs > 0 ? { overloaded: () => eventLoop.overloaded } : {}),
    ...(rateLimiter ? { limiter: rateLimiter } : {}),
    onRefused: ({ reason }) => metrics.rejectedRequests.inc({ reason }),
  });
  // Shared by the subscriptions of this BFF: one change notice, one feed read and one batch per resource.
  const sharedReads = createReadCoalescer();

  // The response cache (design.md §13): its store (Redis or in process) connects at start().
  let responseCache: ResponseCache | undefined;

  // The rate limit and the context both need the request's viewer: the token is verified once.
  const viewers = new WeakMap<Request, Promise<Context['viewer']>>();
  function viewerOf(request: Request) {
    let viewer = viewers.get(request);
    if (!viewer) viewers.set(request, (viewer = authenticate(verifier, request.headers.get('authorization'))));
    return viewer;
  }

  /** Whom a request counts against: the verified token's subject, else the client's address. */
  async function clientKey(request: Request, { req }: NodeServerContext) {
    const viewer = await viewerOf(request).catch(() => null);
    return viewer ? `sub:${viewer.sub}` : `ip:${clientAddress(req?.socket.remoteAddress, request.headers.get('x-forwarded-for'), limits.trustProxyHops)}`;
  }
  const socketGate = createSocketGate({ admission, maxSocketsPerClient: config.webSocket.maxSocketsPerClient, messagesPerSecond: config.webSocket.maxMessagesPerSecond });
  // In production /metrics is never on the public port; in development it is, unless METRICS_PORT is set.
  const metricsServer = config.metricsPort !== undefined || production ? createMetricsServer({ registry: metrics.registry }) : undefined;

  async function buildContext(request: Request, log: Logger): Promise<Context> {
    return contextFor(await viewerOf(request), requestIdOf(request.headers.get('x-request-id')), request.headers, log);
  }

  /**
   * The GraphQL context of a request, on yoga's path (`buildContext`) and on the by-hash lane, which
   * passes the product fields its persisted query reads (`productFields`: fetched alone).
   */
  function contextFor(viewer: Context['viewer'], requestId: string, headers: Pick<Headers, 'get'>, log: Logger, productFields?: readonly string[]): Context {
    // With the response cache on, every call records what it read: what the result will hold.
    const dependencies = responseCache ? createDependencies() : undefined;
    const scoped = downstreamClient.forRequest({ requestId, deadline: Date.now() + resilience.requestBudgetMs });
    const downstream = dependencies ? recordDependencies(scoped, dependencies) : scoped;
    const loaders = createLoaders(downstream, productFields ? { productFields } : {});
    let profile: Promise<UserModel> | undefined;
    const context: Context = {
      viewer,
      log,
      loaders,
      downstream,
      bus,
      subscriptionResyncMs: config.webSocket.resyncIntervalMs,
      sharedReads,
      metrics,
      ...(dependencies ? { dependencies } : {}),
      idempotency: createRequestIdempotency(idempotencyStore, { headers }),
      // `this`, not `context`: yoga copies these properties into its own context object, which is
      // what resolvers (and a subscription's stream) hold, so only `this` is the one they read.
      refresh(this: Context) {
        this.downstream = downstreamClient.forRequest({ requestId, deadline: Date.now() + resilience.requestBudgetMs });
        // An event's batch loads join identical ones of other subscribers' events in flight.
        this.loaders = createLoaders(sharedReads.sharing(this.downstream));
      },
      viewerProfile(this: Context) {
        profile ??= ensureViewerProfile(this);
        return profile;
      },
    };
    return context;
  }

  // Resolvers' errors are masked and logged with their request's logger by useMaskedErrorsWithRequestLog;
  // this masks what goes wrong outside an execution's results (yoga's last resort, the multipart streams).
  const maskUnexpected = maskError((error) => logger.error({ err: error }, 'unexpected error in a resolver'));

  // Query texts yoga has run, which the by-hash lane then answers too (createLearnedTexts.ts).
  const learnedTexts = config.byHashLane && config.fastPaths && config.persistedOperations === 'off' ? createLearnedTexts({ schema }) : undefined;

  let http: ReturnType<typeof createHttpServer> | undefined;
  const plugins: Plugin[] = [
    ...(config.corsOrigins === '*' || config.corsOrigins.length > 0 ? [useCors({ origins: config.corsOrigins })] : []),
    useAdmission<NodeServerContext>({ admission, keyOf: clientKey }) as Plugin,
    useCsrfPrevention(),
    // Before the allowlist: an app too old to be served is told to update, not that its operation is unknown.
    ...(versionPolicy.empty
      ? []
      : [
          useClientVersionPolicy({
            policy: versionPolicy,
            onRefused: (client) => metrics.upgradeRequired.inc(clientLabelsOf(client)),
            onSunset: (client) => metrics.sunsetResponses.inc(clientLabelsOf(client)),
          }),
        ]),
    useInputValidation(),
    usePersistedOperations({
      operations,
      mode: config.persistedOperations,
      ...(config.fastPaths ? { compiled: () => persisted.current.compiled } : {}),
      onOperation: (operation, request) => metrics.operations.inc({ operation: operation.name, ...clientLabelsOf(clientIdentityOf(request.headers)) }),
    }),
    ...(config.responseCache.enabled
      ? [
          usePersistedResponseCache({
            cache: () => responseCache,
            viewerOf,
          }),
        ]
      : []),
    useHttpCaching(),
    useIncrementalDelivery({ maskError: maskUnexpected }),
    useCompression(),
    useReadinessCheck({
      endpoint: '/ready',
      check: async () => {
        if (http?.draining) return false;
        try {
          await database.ping();
          return true;
        } catch {
          return false;
        }
      },
    }),
    ...(metricsServer ? [] : [useMetricsEndpoint({ registry: metrics.registry })]),
    useErrorCodes(),
    useMultipartSubscriptions({
      expiresAt: async (request) => {
        const viewer = await viewerOf(request).catch(() => null);
        return viewer ? viewer.exp * 1000 : undefined;
      },
      maskError: maskUnexpected,
    }),
    useIdempotency(),
    useOperationLimits(limits.document),
    useSubscriptionExpiry(),
    // Last of ours, so that it sees the errors the plugins above leave, before yoga's own masking.
    useMaskedErrorsWithRequestLog({ logger }),
  ];
  if (production) plugins.push(useDisableIntrospection());
  else plugins.push(useClientSchemaEndpoint({ path: join(projectRoot(), 'schema/client/schema.graphqls') }));
  plugins.push(...extraPlugins);
  plugins.push(useRequestBodyLimit(limits.maxBodyBytes));
  if (learnedTexts) plugins.push(learnedTexts.plugin());

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    extraParamNames: ['documentId'],
    // Counted by useRequestBodyLimit (the last plugin): yoga's own pipes every body through a stream.
    maxRequestBodySize: false,
    // Off: every text document is parsed and validated again, as stock yoga without its cache.
    parserAndValidationCache: config.fastPaths,
    batching: limits.batchLimit > 0 ? { limit: limits.batchLimit } : false,
    healthCheckEndpoint: '/health',
    // yoga's own CORS reflects any origin with credentials: useCors replaces it.
    cors: false,
    landingPage: false,
    // GraphiQL's page carries its scripts and styles (@graphql-yoga/render-graphiql): nothing is
    // fetched from a CDN, so it works offline. A token is signed for every page load: one signed
    // at start would expire under a long-running `npm start`. Subscriptions run over SSE, a GET,
    // so GraphiQL sends the preflight header that useCsrfPrevention asks of every GET.
    renderGraphiQL: async (options) => (await loadGraphiQL()).renderGraphiQL(options),
    graphiql: production
      ? false
      : async () => ({
          title: 'mobile-bff',
          defaultQuery: SAMPLE_QUERY,
          headers: JSON.stringify({ Authorization: `Bearer ${await signDevToken({ expiresIn: '24h' })}` }, null, 2),
          additionalHeaders: { 'Apollo-Require-Preflight': 'true' },
          subscriptionsProtocol: 'SSE',
        }),
    // The request's logger: an HTTP request's from createHttpServer, a socket operation's from its server context.
    context: ({ request, req, log }) => buildContext(request, (log as Logger | undefined) ?? ((req as IncomingMessage | undefined) && requestLogs.get(req as IncomingMessage)) ?? logger),
    maskedErrors: { maskError: maskUnexpected, isDev: false },
    // Yoga logs every error it masks, expected ones (UNAUTHENTICATED) included, with the query's
    // text: at debug. Unexpected errors are logged by maskError above, with the request's id.
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.debug(args.map(String).join(' ')),
    },
    plugins,
  });

  const lane = config.byHashLane
    ? createByHashLane({
        operations,
        compiled: () => persisted.current.compiled,
        mode: config.persistedOperations,
        admission,
        authenticate: (authorization) => authenticate(verifier, authorization),
        clientKey: (viewer, req) =>
          viewer ? `sub:${viewer.sub}` : `ip:${clientAddress(req.socket.remoteAddress, typeof req.headers['x-forwarded-for'] === 'string' ? req.headers['x-forwarded-for'] : null, limits.trustProxyHops)}`,
        ...(versionPolicy.empty
          ? {}
          : {
              versionPolicy: {
                check: (client) => versionPolicy.check(client),
                onRefused: (client) => metrics.upgradeRequired.inc(clientLabelsOf(client)),
                onSunset: (client) => metrics.sunsetResponses.inc(clientLabelsOf(client)),
              },
            }),
        onOperation: (operation, headers) => metrics.operations.inc({ operation: operation.name, ...clientLabelsOf(clientIdentityOf(headers)) }),
        context: contextFor,
        // The masking of useMaskedErrorsWithRequestLog, with the request's logger.
        maskError: (error, log) => maskAndLog(log)(error) as GraphQLError,
        ...(config.corsOrigins === '*' || config.corsOrigins.length > 0 ? { corsAllows: corsAllows(config.corsOrigins) } : {}),
        maxBodyBytes: limits.maxBodyBytes,
        // The response cache, as usePersistedResponseCache runs it on yoga's path.
        around: config.responseCache.enabled ? [responseCacheStep(() => responseCache)] : [],
        ...(learnedTexts ? { texts: learnedTexts } : {}),
      })
    : undefined;
  let laneOn = lane !== undefined;
  http = createHttpServer({ handler: yoga.requestListener, metrics, logger, requestLogs, endpoints: ENDPOINTS, lane: () => (laneOn ? lane : undefined) });
  const { server } = http;

  let url: string | undefined;
  let metricsUrl: string | undefined;
  let webSocket: ReturnType<typeof createWebSocketTransport> | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  return {
    yoga,
    server,
    metrics,
    /** The persisted operations serving now. */
    get operations() {
      return operations();
    },
    /**
     * Reloads the manifest folder now (SIGHUP), validated as at start. `false`: a manifest was
     * refused (logged), and the previous set keeps serving.
     */
    reloadPersistedOperations: () => persisted.reload(),
    /** Where Prometheus scrapes, once started: `/metrics` on `METRICS_PORT`, or on the public port in development without one. */
    get metricsUrl() {
      if (!url) throw new Error('The BFF is not started: call start() first.');
      return metricsUrl ?? url.replace(/\/graphql$/, '/metrics');
    },
    /** The GraphQL endpoint once started, e.g. `http://127.0.0.1:4000/graphql`. */
    get url() {
      if (!url) throw new Error('The BFF is not started: call start() first.');
      return url;
    },
    async start({ port = config.port, host = config.host }: { port?: number; host?: string } = {}) {
      await migrateBff(database);
      if (config.responseCache.enabled) {
        const { responseCache: options } = config;
        responseCache = createResponseCache({
          store: await createResponseStore({ config, schema }),
          bus,
          feeds: changeFeedReaders(downstreamClient, { deadlineMs: resilience.requestBudgetMs }),
          feedCheckMs: options.feedCheckMs,
          staleMaxMs: options.staleMaxMs,
          revalidatedTtlMs: options.revalidatedTtlMs,
          unavailable: (service) => downstreamClient.breakerState(service as ServiceName) === 'open',
          metrics,
          logger,
        });
        await responseCache.start();
      }
      if (metricsServer) metricsUrl = await metricsServer.start(config.metricsPort ?? 0, host);
      if (config.nodeEnv === 'development') await loadGraphiQL();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      webSocket = createWebSocketTransport({
        httpServer: server,
        yoga,
        schema,
        verifier,
        maxOperations: config.webSocket.maxOperations,
        maxBufferedBytes: config.webSocket.maxBufferedBytes,
        allowedOrigins: config.webSocket.allowedOrigins,
        connectionInitWaitTimeout: config.webSocket.initTimeoutMs,
        gate: socketGate,
        addressOf: (req) => clientAddress(req.socket.remoteAddress, typeof req.headers['x-forwarded-for'] === 'string' ? req.headers['x-forwarded-for'] : null, limits.trustProxyHops),
        scopeOf: (requestId, operationId) => ({ log: logger.child({ requestId, operationId }) }),
        ...(config.fastPaths ? { shareSubscriptionsOf: operations } : {}),
      });
      persisted.start();
      const transport = webSocket;
      metrics.countSharedSubscribers(() => transport.sharedSubscribers);
      if (lifecycle.maxEventLoopDelayMs > 0) eventLoop.start();
      const address = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      url = `http://${shownHost}:${address.port}/graphql`;
      purgeTimer = setInterval(() => {
        idempotencyStore.purgeExpired().then(
          (purged) => {
            if (purged) logger.info({ purged }, 'purged expired idempotency keys');
          },
          (error: unknown) => logger.warn({ err: error }, 'purging expired idempotency keys failed; next try at the next interval'),
        );
      }, config.idempotency.purgeIntervalMs);
      purgeTimer.unref();
      return url;
    },
    async stop() {
      const listening = server.listening;
      http!.startDraining();
      persisted.stop();
      if (listening && lifecycle.shutdownDelayMs > 0) {
        logger.info({ delayMs: lifecycle.shutdownDelayMs }, 'shutdown: /ready fails, still serving while the load balancer notices');
        await sleep(lifecycle.shutdownDelayMs);
      }
      await Promise.all([webSocket?.close(), listening ? http!.drain(lifecycle.shutdownTimeoutMs) : undefined]);
      eventLoop.stop();
      clearInterval(purgeTimer);
      await rateLimiter?.close();
      await responseCache?.close();
      responseCache = undefined;
      await downstreamClient.close();
      // Last: Prometheus sees the drain.
      await metricsServer?.stop();
    },
    /**
     * Whether persisted queries by id take the by-hash lane (`BY_HASH_LANE`); tests switch it off
     * to compare the lane's answers with yoga's on the same running system.
     */
    get byHashLane() {
      return laneOn;
    },
    set byHashLane(on: boolean) {
      laneOn = on && lane !== undefined;
    },
    /** The state of a service's circuit breaker (`closed`, `half_open`, `open`). */
    breakerState: (service: ServiceName) => downstreamClient.breakerState(service),
  };
}

export type Bff = ReturnType<typeof createBff>;
