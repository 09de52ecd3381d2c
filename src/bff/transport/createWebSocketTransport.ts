import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { TokenVerifier } from '../../auth/index.js';
import { authenticate } from '../auth/authenticate.js';
import type { Context } from '../context.js';
import { ErrorCode } from '../errors/index.js';
import { refusalError } from '../limits/index.js';
import { extractOperationId, type PersistedOperations } from '../persisted/index.js';
import { withCode } from '../plugins/useErrorCodes.js';
import type { EndsSubscriptionsAtTokenExpiry } from '../plugins/useSubscriptionExpiry.js';
import { sharedSubscriptionKey } from '../subscriptions/sharedSubscriptionKey.js';
import { SocketCloseCode, type MessageAllowance, type SocketGate } from './createSocketGate.js';
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
  shareSubscriptionsOf?: PersistedOperations;
  /**
   * Sockets per client, messages per socket, and the admission (load shedding, the client's rate)
   * of every operation, shared with HTTP. Absent: none of these limits.
   */
  gate?: SocketGate;
  /** The client's address from the upgrade request (behind trusted proxies, from `X-Forwarded-For`): whom an anonymous socket counts against. */
  addressOf?: (request: IncomingMessage) => string;
}

/** What the transport knows of one socket: whom it counts against, and its message allowance. */
interface SocketState {
  /** `sub:<id>` once authenticated, else `ip:<address>`: the same keys as HTTP's rate limit. */
  client: string;
  messages: MessageAllowance;
}

type ConnectionParams = Record<string, unknown> | undefined;

/** `Authorization` or `authorization` from `connection_init`, as Apollo Kotlin / iOS and graphql-ws clients send it. */
function authorizationOf(params: ConnectionParams): string | undefined {
  const value = params?.Authorization ?? params?.authorization;
  return typeof value === 'string' ? value : undefined;
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
  gate,
  addressOf = (request) => request.socket.remoteAddress ?? 'unknown',
}: WebSocketTransportOptions) {
  const groups = createSubscriptionGroups();
  const states = new WeakMap<object, SocketState>();
  function stateOf(socket: object, request: IncomingMessage): SocketState {
    let state = states.get(socket);
    if (!state) states.set(socket, (state = { client: `ip:${addressOf(request)}`, messages: gate?.messages() ?? { take: () => true } }));
    return state;
  }
  const rateLimited = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.RateLimited } });
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
        const socket = ctx.extra.socket;
        const state = stateOf(socket, ctx.extra.request);
        const authorization = authorizationOf(ctx.connectionParams);
        let claims: Awaited<ReturnType<typeof authenticate>> = null;
        if (authorization) {
          try {
            claims = await authenticate(verifier, authorization);
          } catch (error) {
            if (error instanceof GraphQLError && error.extensions?.code === ErrorCode.AuthUnavailable) {
              // Not the token's fault: the client reconnects later with the same token. graphql-ws
              // then closes with 4403 too, which a closing socket ignores.
              socket.close(SocketCloseCode.TryAgainLater, 'Identity provider unavailable; retry later');
            }
            return false; // 4403: the client refreshes its token and reconnects
          }
          state.client = `sub:${claims!.sub}`;
        }
        const release = gate?.openSocket(state.client);
        if (gate && !release) {
          socket.close(SocketCloseCode.TryAgainLater, 'Too many sockets for this client; retry later');
          return false;
        }
        if (release) socket.once('close', release);
        if (claims) {
          viewerOfSocket.set(socket, claims.sub);
          // A live socket ends when its token does, so a revoked user cannot listen forever.
          const ms = claims.exp * 1000 - Date.now();
          const timer = setTimeout(() => socket.close(4403, 'Token expired'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
          timer.unref();
          socket.once('close', () => clearTimeout(timer));
        }
        return true;
      },
      // Pings and pongs draw on the socket's message allowance too; a socket past it is closed.
      onPing(ctx) {
        if (!stateOf(ctx.extra.socket, ctx.extra.request).messages.take()) ctx.extra.socket.close(SocketCloseCode.PolicyViolation, 'Too many messages');
      },
      onPong(ctx) {
        if (!stateOf(ctx.extra.socket, ctx.extra.request).messages.take()) ctx.extra.socket.close(SocketCloseCode.PolicyViolation, 'Too many messages');
      },
      async onSubscribe(ctx, subscriptionId, payload) {
        // Each refusal is an `error` for this operation's id only: the socket and its other operations run on.
        const state = stateOf(ctx.extra.socket, ctx.extra.request);
        if (!state.messages.take()) return [rateLimited('Too many messages on this socket: slow down.')];
        if (Object.keys(ctx.subscriptions).length > maxOperations) {
          return [rateLimited(`At most ${maxOperations} operations may run at once on one socket; complete one first.`)];
        }
        const refusal = await gate?.admitOperation(state.client);
        if (refusal) return [refusalError(refusal)];
        const authorization = authorizationOf(ctx.connectionParams);
        const request = new Request(origin, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        });
        const params = {
          query: payload.query || undefined,
          operationName: payload.operationName ?? undefined,
          variables: payload.variables ?? undefined,
          extensions: payload.extensions ?? undefined,
        };
        let result: ExecutionResult | AsyncIterable<ExecutionResult> | undefined;
        try {
          // This transport closes the socket at the token's exp itself (4403): no per-operation end.
          const serverContext: EndsSubscriptionsAtTokenExpiry & Record<string, unknown> = { endsSubscriptionsAtTokenExpiry: true };
          result = await yoga.getResultForParams({ params, request }, serverContext);
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
          const key = id ? sharedSubscriptionKey(shareSubscriptionsOf.byId.get(id), params, viewerOfSocket.get(ctx.extra.socket)) : undefined;
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
