import type { IncomingMessage } from 'node:http';
import type { ExecutionResult } from 'graphql';
import WebSocket, { type WebSocketServer } from 'ws';
import { socketError, type ConnectionParams, type SocketOperationPayload, type SocketOperations } from './createSocketOperations.js';

/** The legacy subprotocol's name (subscriptions-transport-ws), which Apollo Kotlin 4 and Apollo iOS use by default. */
export const LEGACY_SUBPROTOCOL = 'graphql-ws';

/** The legacy protocol's message types (subscriptions-transport-ws `PROTOCOL.md`). */
const MessageType = {
  ConnectionInit: 'connection_init',
  ConnectionAck: 'connection_ack',
  ConnectionError: 'connection_error',
  KeepAlive: 'ka',
  ConnectionTerminate: 'connection_terminate',
  Start: 'start',
  Data: 'data',
  Error: 'error',
  Complete: 'complete',
  Stop: 'stop',
} as const;

/** Close codes, the same as graphql-ws uses for the same situations. */
const CloseCode = {
  Unauthorized: 4401,
  Forbidden: 4403,
  ConnectionInitialisationTimeout: 4408,
  TooManyInitialisationRequests: 4429,
} as const;

export interface SubscriptionsTransportWsOptions {
  operations: SocketOperations;
  /** Time a client has to send `connection_init` before the socket is closed with 4408. @default 10000 */
  connectionInitWaitTimeout?: number;
  /**
   * Interval of `ka` messages after `connection_ack`. The subscriptions-transport-ws client drops
   * a socket that heard no `ka` for 30 s, so this must stay well under that. @default 15000
   */
  keepAliveMs?: number;
}

interface Operation {
  iterator?: AsyncIterator<ExecutionResult>;
  stopped: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The legacy `graphql-ws` subprotocol (subscriptions-transport-ws) on a `ws` server, over the same
 * socket operations as graphql-transport-ws (`createSocketOperations`): auth from the
 * `connection_init` payload, persisted operations, limits, masking, token expiry.
 *
 * A small adapter rather than the subscriptions-transport-ws server: that package is unmaintained,
 * depends on ws 7, and parses and validates `query` itself — which Apollo Kotlin's hash-only
 * `start` does not carry, and which would bypass yoga's pipeline.
 *
 * Messages: `connection_init` → `connection_ack` then `ka` every `keepAliveMs` (or
 * `connection_error` and close 4403 for a bad token); `start` → `data`… → `complete`; `stop` ends
 * an operation (answered with `complete`); `connection_terminate` closes the socket. A refused
 * operation is one `data` with its `errors` then `complete` — what the reference server sent for
 * invalid documents and what every legacy client shows as GraphQL errors; a stream that fails
 * midway is `error` then `complete`. A `start` whose id is already running replaces it, as the
 * reference server did. Malformed messages get an `error` with no id and the socket stays open.
 */
export function useSubscriptionsTransportWs(wss: WebSocketServer, { operations, connectionInitWaitTimeout = 10_000, keepAliveMs = 15_000 }: SubscriptionsTransportWsOptions) {
  function opened(socket: WebSocket, request: IncomingMessage) {
    let init: Promise<boolean> | undefined;
    let connectionParams: ConnectionParams;
    let keepAlive: NodeJS.Timeout | undefined;
    const running = new Map<string, Operation>();
    const send = (message: Record<string, unknown>) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    const initTimer = setTimeout(() => {
      if (!init) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, connectionInitWaitTimeout);

    function stop(id: string) {
      const operation = running.get(id);
      if (!operation) return;
      running.delete(id);
      operation.stopped = true;
      void operation.iterator?.return?.()?.catch(() => {});
    }

    async function start(id: string, payload: SocketOperationPayload) {
      stop(id);
      const operation: Operation = { stopped: false };
      running.set(id, operation);
      const outcome = await operations.run({ socket, connectionParams, id, payload, running: running.size, frameType: MessageType.Data });
      if (operation.stopped) {
        if ('result' in outcome && Symbol.asyncIterator in outcome.result) void outcome.result[Symbol.asyncIterator]().return?.()?.catch(() => {});
        return;
      }
      if ('errors' in outcome) {
        running.delete(id);
        send({ id, type: MessageType.Data, payload: { errors: outcome.errors.map(socketError) } });
        send({ id, type: MessageType.Complete });
        return;
      }
      if (!(Symbol.asyncIterator in outcome.result)) {
        running.delete(id);
        send({ id, type: MessageType.Data, payload: outcome.result });
        send({ id, type: MessageType.Complete });
        return;
      }
      const iterator = outcome.result[Symbol.asyncIterator]();
      operation.iterator = iterator;
      try {
        for (;;) {
          const step = await iterator.next();
          if (step.done || operation.stopped) break;
          send({ id, type: MessageType.Data, payload: step.value });
        }
      } catch {
        // The stream failed: errors meant for the client arrive as results, so this one is not.
        if (!operation.stopped) send({ id, type: MessageType.Error, payload: { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } } });
      }
      // A stopped operation was answered by `stop` (or replaced by a new `start` with its id).
      if (operation.stopped) return;
      running.delete(id);
      send({ id, type: MessageType.Complete });
    }

    async function handle(text: string) {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        message = undefined;
      }
      // Every message but `start` (counted by `run`, refused for its id) and `stop` (it frees) draws
      // on the socket's allowance, malformed ones included; past it the socket is closed (1008).
      const type = isObject(message) ? message.type : undefined;
      if (type !== MessageType.Start && type !== MessageType.Stop && !operations.message(socket)) return;
      if (!isObject(message) || typeof message.type !== 'string') {
        send({ type: MessageType.Error, payload: { message: 'Expected a JSON object with a "type".' } });
        return;
      }
      const id = typeof message.id === 'string' ? message.id : undefined;
      switch (message.type) {
        case MessageType.ConnectionInit: {
          if (init) {
            socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
            return;
          }
          clearTimeout(initTimer);
          connectionParams = isObject(message.payload) ? message.payload : undefined;
          init = operations.connect(socket, connectionParams, request);
          if (!(await init)) {
            send({ type: MessageType.ConnectionError, payload: { message: 'Forbidden: the token is not valid.', extensions: { code: 'UNAUTHENTICATED' } } });
            socket.close(CloseCode.Forbidden, 'Forbidden');
            return;
          }
          send({ type: MessageType.ConnectionAck });
          send({ type: MessageType.KeepAlive });
          keepAlive = setInterval(() => send({ type: MessageType.KeepAlive }), keepAliveMs);
          return;
        }
        case MessageType.Start: {
          // The subscriptions-transport-ws client sends its `start`s right after `connection_init`,
          // without waiting for the ack: they wait here for the init to be verified.
          if (!init) {
            socket.close(CloseCode.Unauthorized, 'Unauthorized');
            return;
          }
          if (!(await init)) return;
          if (!id || !isObject(message.payload)) {
            send({ ...(id ? { id } : {}), type: MessageType.Error, payload: { message: 'A "start" needs a string "id" and an object "payload".' } });
            return;
          }
          await start(id, message.payload as SocketOperationPayload);
          return;
        }
        case MessageType.Stop: {
          if (id && running.has(id)) {
            stop(id);
            send({ id, type: MessageType.Complete });
          }
          return;
        }
        case MessageType.ConnectionTerminate:
          socket.close(1000, 'Normal Closure');
          return;
        default:
          send({ ...(id ? { id } : {}), type: MessageType.Error, payload: { message: `Unknown message type ${JSON.stringify(message.type)}.` } });
      }
    }

    socket.on('message', (data) => {
      handle(String(data)).catch(() => socket.close(1011, 'Internal server error'));
    });
    socket.once('close', () => {
      clearTimeout(initTimer);
      clearInterval(keepAlive);
      for (const id of [...running.keys()]) stop(id);
    });
  }

  wss.on('connection', opened);
  return {
    async dispose() {
      wss.off('connection', opened);
    },
  };
}
