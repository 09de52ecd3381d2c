import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { TokenVerifier } from '../../auth/index.js';
import type { Context } from '../context.js';
import type { PersistedOperations } from '../persisted/index.js';
import { createSocketOperations, socketError, type ConnectionParams, type SocketOperationsOptions } from './createSocketOperations.js';
import type { SocketGate } from './createSocketGate.js';
import { LEGACY_SUBPROTOCOL, useSubscriptionsTransportWs } from './useSubscriptionsTransportWs.js';

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
  /**
   * Sockets per client, messages per socket, and the admission (load shedding, the client's rate)
   * of every operation, shared with HTTP, for both subprotocols. Absent: none of these limits.
   */
  gate?: SocketGate;
  /** The client's address from the upgrade request (behind trusted proxies, from `X-Forwarded-For`): whom an anonymous socket counts against. */
  addressOf?: (request: IncomingMessage) => string;
  /** See `SocketOperationsOptions.scopeOf`: logs of a socket's operations carry its request id. */
  scopeOf?: SocketOperationsOptions['scopeOf'];
}

const MODERN_SUBPROTOCOL = 'graphql-transport-ws';

/** The subprotocols a client offers in `Sec-WebSocket-Protocol`. */
const offeredSubprotocols = (header: string | string[] | undefined) => new Set((Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((p) => p.trim()));

/**
 * GraphQL over WebSocket on the HTTP server's GraphQL path, in both subprotocols Apollo's clients
 * speak, chosen by `Sec-WebSocket-Protocol`: `graphql-transport-ws` (graphql-ws; Apollo Kotlin 5,
 * web clients) and the legacy `graphql-ws` (subscriptions-transport-ws; Apollo Kotlin 4's and
 * Apollo iOS's default). A client offering both gets `graphql-transport-ws`. Both run every
 * operation through the same socket operations (`createSocketOperations`): yoga's own pipeline,
 * so persisted operations, auth, masking and limits apply exactly as on HTTP; the subprotocol
 * only carries the result. A rejected operation is answered for its id and the socket stays open.
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
  addressOf,
  scopeOf,
}: WebSocketTransportOptions) {
  const operations = createSocketOperations({
    yoga,
    verifier,
    endpoint,
    maxOperations,
    shareSubscriptionsOf,
    ...(gate ? { gate } : {}),
    ...(addressOf ? { addressOf } : {}),
    ...(scopeOf ? { scopeOf } : {}),
  });
  const options = {
    noServer: true,
    maxPayload,
    // Browsers send Origin and follow no CORS rules for WebSockets: a page of another site could
    // otherwise open a socket with the user's cookies. Native apps send no Origin.
    verifyClient: ({ origin }: { origin?: string }) => !origin || allowedOrigins === '*' || allowedOrigins.includes(origin.replace(/\/+$/, '')),
  };
  const wss = new WebSocketServer(options);
  const legacyWss = new WebSocketServer({ ...options, handleProtocols: () => LEGACY_SUBPROTOCOL });
  const servers = [wss, legacyWss];
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== endpoint) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const offered = offeredSubprotocols(request.headers['sec-websocket-protocol']);
    const target = !offered.has(MODERN_SUBPROTOCOL) && offered.has(LEGACY_SUBPROTOCOL) ? legacyWss : wss;
    target.handleUpgrade(request, socket, head, (client) => {
      operations.identify(client, request);
      target.emit('connection', client, request);
    });
  };
  httpServer.on('upgrade', onUpgrade);
  // A client that stopped reading: its socket's send buffer grows; past the limit it is dropped
  // (nothing more can be sent to it, not even a close frame), so it costs bounded memory.
  const watchdog = setInterval(() => {
    for (const server of servers) for (const client of server.clients) if (client.bufferedAmount > maxBufferedBytes) client.terminate();
  }, 1_000);
  watchdog.unref();
  // graphql-ws only needs a document to pick execute or subscribe; the real one ran in yoga.
  const carrier = parse('{ __typename }');

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
      onConnect: (ctx) => operations.connect(ctx.extra.socket, ctx.connectionParams, ctx.extra.request),
      // Pings and pongs draw on the socket's message allowance too (a `subscribe` does in `run`).
      onPing: (ctx) => void operations.message(ctx.extra.socket),
      onPong: (ctx) => void operations.message(ctx.extra.socket),
      async onSubscribe(ctx, id, payload) {
        const outcome = await operations.run({
          socket: ctx.extra.socket,
          connectionParams: ctx.connectionParams,
          id,
          payload,
          running: Object.keys(ctx.subscriptions).length,
          frameType: 'next',
        });
        if ('errors' in outcome) return outcome.errors;
        return { schema, document: carrier, rootValue: outcome.result, contextValue: {} };
      },
      execute: (args) => args.rootValue as ExecutionResult,
      subscribe: (args) => args.rootValue as AsyncIterable<ExecutionResult>,
      onError: (_ctx, _id, _payload, errors) => errors.map(socketError),
    },
    wss,
  );
  const legacy = useSubscriptionsTransportWs(legacyWss, { operations, connectionInitWaitTimeout });

  return {
    /** Subscribers of shared streams (see `createSubscriptionGroups`). */
    get sharedSubscribers() {
      return operations.sharedSubscribers;
    },
    /**
     * Closes every socket with 1001 (going away), so clients reconnect elsewhere. A client that
     * does not complete the close handshake in `graceMs` (one that stopped reading) is cut off.
     */
    async close(graceMs = 2_000) {
      clearInterval(watchdog);
      httpServer.off('upgrade', onUpgrade);
      const clients = () => servers.flatMap((s) => [...s.clients]);
      for (const client of clients()) client.close(1001, 'Server shutting down');
      const deadline = Date.now() + graceMs;
      while (clients().some((c) => c.readyState !== c.CLOSED) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const client of clients()) client.terminate();
      await server.dispose();
      await legacy.dispose();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
