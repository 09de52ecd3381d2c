import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { TokenVerifier } from '../../auth/index.js';
import { authenticate } from '../auth/authenticate.js';
import { CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER } from '../clients/index.js';
import type { Context } from '../context.js';
import { extractOperationId, type PersistedOperations } from '../persisted/index.js';
import { withCode } from '../plugins/useErrorCodes.js';
import { sharedSubscriptionKey } from '../subscriptions/sharedSubscriptionKey.js';
import { createSubscriptionGroups } from './createSubscriptionGroups.js';

export interface WebSocketTransportOptions {
  httpServer: Server;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  schema: GraphQLSchema;
  verifier: TokenVerifier;
  /** @default '/graphql' */
  endpoint?: string;
  /** Largest frame accepted; a larger one closes the socket (1009). @default 65536 */
  maxPayload?: number;
  /** Time a client has to send `connection_init` before the socket is closed with 4408. @default 10000 */
  connectionInitWaitTimeout?: number;
  /** Operations one socket may run at once; one more gets an `error` for its id. @default 50 */
  maxOperations?: number;
  /** Bytes queued for a client that stopped reading before its socket is dropped (checked every second). @default 1048576 */
  maxBufferedBytes?: number;
  /** Browser origins allowed to connect, or `'*'`. A request without `Origin` (a native app) is always allowed. @default '*' */
  allowedOrigins?: string[] | '*';
  /**
   * The persisted operations: identical persisted subscriptions of one viewer that start from
   * now share one stream and one execution per event (`createSubscriptionGroups`). Without, every
   * subscription runs on its own.
   */
  shareSubscriptionsOf?: () => PersistedOperations;
}

type ConnectionParams = Record<string, unknown> | undefined;

/** `Authorization` or `authorization` from `connection_init`, as Apollo Kotlin / iOS and graphql-ws clients send it. */
function authorizationOf(params: ConnectionParams): string | undefined {
  const value = params?.Authorization ?? params?.authorization;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The app's `apollographql-client-name` / `-version`: Apollo iOS and Apollo Kotlin send them as
 * headers of the upgrade request (as on every HTTP request); a client that cannot set headers
 * there (a browser) may put them in `connection_init`, top-level or under `headers`.
 */
function clientHeadersOf(upgrade: IncomingMessage, params: ConnectionParams): Record<string, string> {
  const nested = params?.headers && typeof params.headers === 'object' ? (params.headers as Record<string, unknown>) : undefined;
  const headers: Record<string, string> = {};
  for (const name of [CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER]) {
    const value = upgrade.headers[name] ?? params?.[name] ?? nested?.[name];
    if (typeof value === 'string' && value) headers[name] = value;
  }
  return headers;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> => typeof value === 'object' && value !== null && Symbol.asyncIterator in value;

/**
 * graphql-ws (`graphql-transport-ws`) on the HTTP server's GraphQL path. Every operation goes
 * through yoga's own pipeline (`getResultForParams`), so persisted operations, auth, masking
 * and limits apply exactly as on HTTP; graphql-ws only carries the result. A rejected operation
 * is an `error` message for its id and the socket stays open.
 */
export function createWebSocketTransport({
  httpServer,
  yoga,
  schema,
  verifier,
  endpoint = '/graphql',
  maxPayload = 64 * 1024,
  connectionInitWaitTimeout = 10_000,
  maxOperations = 50,
  maxBufferedBytes = 1_048_576,
  allowedOrigins = '*',
  shareSubscriptionsOf,
}: WebSocketTransportOptions) {
  const groups = createSubscriptionGroups();
  /** Whom each authenticated socket belongs to, from its `connection_init` (for shared streams). */
  const viewerOfSocket = new WeakMap<object, string>();
  const wss = new WebSocketServer({
    server: httpServer,
    path: endpoint,
    maxPayload,
    // Browsers send Origin and follow no CORS rules for WebSockets: a page of another site could
    // otherwise open a socket with the user's cookies. Native apps send no Origin.
    verifyClient: ({ origin }: { origin?: string }) => !origin || allowedOrigins === '*' || allowedOrigins.includes(origin.replace(/\/+$/, '')),
  });
  // A client that stopped reading: its socket's send buffer grows; past the limit it is dropped
  // (nothing more can be sent to it, not even a close frame), so it costs bounded memory.
  const watchdog = setInterval(() => {
    for (const client of wss.clients) if (client.bufferedAmount > maxBufferedBytes) client.terminate();
  }, 1_000);
  watchdog.unref();
  // graphql-ws only needs a document to pick execute or subscribe; the real one ran in yoga.
  const carrier = parse('{ __typename }');
  const origin = `http://localhost${endpoint}`;

  const server = useServer<ConnectionParams>(
    {
      connectionInitWaitTimeout,
      // Apollo Kotlin subscribes by hash with no `query`, which graphql-ws would close with 4400.
      jsonMessageReviver(key, value) {
        if (key === '' && value && typeof value === 'object' && value.type === 'subscribe' && value.payload && typeof value.payload === 'object' && value.payload.query == null) {
          value.payload.query = '';
        }
        return value;
      },
      async onConnect(ctx) {
        const authorization = authorizationOf(ctx.connectionParams);
        if (!authorization) return true;
        try {
          const claims = await authenticate(verifier, authorization);
          viewerOfSocket.set(ctx.extra.socket, claims!.sub);
          // A live socket ends when its token does, so a revoked user cannot listen forever.
          const socket = ctx.extra.socket;
          const ms = claims!.exp * 1000 - Date.now();
          const timer = setTimeout(() => socket.close(4403, 'Token expired'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
          timer.unref();
          socket.once('close', () => clearTimeout(timer));
          return true;
        } catch {
          return false; // 4403: the client refreshes its token and reconnects
        }
      },
      async onSubscribe(ctx, subscriptionId, payload) {
        if (Object.keys(ctx.subscriptions).length > maxOperations) {
          return [new GraphQLError(`At most ${maxOperations} operations may run at once on one socket; complete one first.`, { extensions: { code: 'RATE_LIMITED' } })];
        }
        const authorization = authorizationOf(ctx.connectionParams);
        const request = new Request(origin, {
          method: 'POST',
          // The app's name and version: the version gate and sunset notices apply per operation, as on HTTP.
          headers: { 'content-type': 'application/json', ...clientHeadersOf(ctx.extra.request, ctx.connectionParams), ...(authorization ? { authorization } : {}) },
        });
        const params = {
          query: payload.query || undefined,
          operationName: payload.operationName ?? undefined,
          variables: payload.variables ?? undefined,
          extensions: payload.extensions ?? undefined,
        };
        let result: ExecutionResult | AsyncIterable<ExecutionResult> | undefined;
        try {
          result = await yoga.getResultForParams({ params, request }, {});
        } catch (error) {
          const graphqlError = error instanceof GraphQLError ? error : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
          return [withCode(graphqlError, true) as GraphQLError];
        }
        if (!result) return [new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })];
        if (!isAsyncIterable(result) && result.data == null && result.errors?.length) {
          return result.errors.map((e) => withCode(e, true) as GraphQLError);
        }
        if (shareSubscriptionsOf && isAsyncIterable(result)) {
          const id = extractOperationId(params);
          const key = id ? sharedSubscriptionKey(shareSubscriptionsOf().byId.get(id), params, viewerOfSocket.get(ctx.extra.socket)) : undefined;
          if (key) return { schema, document: carrier, rootValue: groups.join(key, result, ctx.extra.socket, subscriptionId), contextValue: {} };
        }
        return { schema, document: carrier, rootValue: result, contextValue: {} };
      },
      execute: (args) => args.rootValue as ExecutionResult,
      subscribe: (args) => args.rootValue as AsyncIterable<ExecutionResult>,
      onError(_ctx, _id, _payload, errors) {
        // Strip yoga's transport-only extensions (http status and headers) from what goes on the socket.
        return errors.map((e) => {
          const { http: _http, ...extensions } = e.extensions ?? {};
          return { ...e.toJSON(), extensions };
        });
      },
    },
    wss,
  );

  return {
    /** Subscribers of shared streams (see `createSubscriptionGroups`). */
    get sharedSubscribers() {
      return groups.subscribers;
    },
    /**
     * Closes every socket with 1001 (going away), so clients reconnect elsewhere. A client that
     * does not complete the close handshake in `graceMs` (one that stopped reading) is cut off.
     */
    async close(graceMs = 2_000) {
      clearInterval(watchdog);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      const deadline = Date.now() + graceMs;
      while ([...wss.clients].some((c) => c.readyState !== c.CLOSED) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const client of wss.clients) client.terminate();
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
