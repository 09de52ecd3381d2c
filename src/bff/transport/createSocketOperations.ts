import type { IncomingMessage } from 'node:http';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type WebSocket from 'ws';
import type { TokenVerifier } from '../../auth/index.js';
import { authenticate } from '../auth/authenticate.js';
import { CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER } from '../clients/index.js';
import type { Context } from '../context.js';
import { refusalError } from '../limits/index.js';
import { extractOperationId, normalizeOperationText, type PersistedOperations } from '../persisted/index.js';
import { clientResult, clientStream, ErrorCode, unexpectedError, withCode } from '../errors/index.js';
import type { EndsSubscriptionsAtTokenExpiry } from '../plugins/useSubscriptionExpiry.js';
import { sharedSubscriptionKey } from '../subscriptions/sharedSubscriptionKey.js';
import { SocketCloseCode, type MessageAllowance, type SocketGate } from './createSocketGate.js';
import { createSubscriptionGroups, type FrameType } from './createSubscriptionGroups.js';
import { requestIdOf } from './requestIdOf.js';

export type ConnectionParams = Record<string, unknown> | undefined;

/** An operation as both WebSocket subprotocols carry it (`subscribe` / `start` payload). */
export interface SocketOperationPayload {
  query?: string | null;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** What running an operation gave: errors that refuse it, or its result (one, or a stream). */
export type SocketOperationOutcome = { errors: GraphQLError[] } | { result: ExecutionResult | AsyncIterable<ExecutionResult> };

export interface SocketOperationsOptions {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  verifier: TokenVerifier;
  /** @default '/graphql' */
  endpoint?: string;
  /** Operations one socket may run at once; one more is refused with `RATE_LIMITED`. @default 50 */
  maxOperations?: number;
  /** See `WebSocketTransportOptions.shareSubscriptionsOf`. */
  shareSubscriptionsOf?: () => PersistedOperations;
  /** Sockets per client, messages per socket, admission of each operation (see `createSocketGate`). Absent: no such limits. */
  gate?: SocketGate;
  /** The client's address from the upgrade request: whom an anonymous socket counts against. @default the peer address */
  addressOf?: (request: IncomingMessage) => string;
  /**
   * What an operation's server context gets from the socket's request `requestId` and the operation
   * `operationId` (the BFF: a logger carrying both, as an HTTP request's log lines carry its id; the
   * context keeps it for the operation's execution and every event of its stream).
   * @default nothing
   */
  scopeOf?: (requestId: string, operationId: string) => Record<string, unknown>;
}

/** What is known of one socket: whom it counts against, and its message allowance. */
interface SocketState {
  /** `sub:<id>` once authenticated, else `ip:<address>`: the keys of HTTP's rate limit. */
  client: string;
  messages: MessageAllowance;
  /** The upgrade request's `x-request-id` when sane, else a new UUID: the id of every operation on the socket, in logs and downstream. */
  requestId: string;
}

const UNLIMITED: MessageAllowance = { take: () => true };

/** `Authorization` or `authorization` from `connection_init`, as Apollo Kotlin / iOS and graphql-ws clients send it. */
function authorizationOf(params: ConnectionParams): string | undefined {
  const value = params?.Authorization ?? params?.authorization;
  return typeof value === 'string' ? value : undefined;
}

const CLIENT_HEADERS = [CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER] as const;

/**
 * The app's `apollographql-client-name` / `-version`: Apollo iOS and Apollo Kotlin send them as
 * headers of the upgrade request (as on every HTTP request; their `connection_init` payload is
 * empty by default); a client that cannot set headers on a WebSocket (a browser) may put them in
 * `connection_init`, top-level or under `headers`.
 */
function clientHeadersOf(upgrade: Record<string, string> | undefined, params: ConnectionParams): Record<string, string> {
  const nested = params?.headers && typeof params.headers === 'object' ? (params.headers as Record<string, unknown>) : undefined;
  const headers: Record<string, string> = {};
  for (const name of CLIENT_HEADERS) {
    const value = upgrade?.[name] ?? params?.[name] ?? nested?.[name];
    if (typeof value === 'string' && value) headers[name] = value;
  }
  return headers;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> => typeof value === 'object' && value !== null && Symbol.asyncIterator in value;


/** An error as it goes on a socket: yoga's transport-only extensions (HTTP status and headers) stripped. */
export function socketError(error: GraphQLError): GraphQLFormattedError {
  const { http: _http, ...extensions } = error.extensions ?? {};
  return { ...error.toJSON(), extensions };
}

/**
 * What both WebSocket subprotocols (`graphql-transport-ws` and the legacy `graphql-ws`) do with a
 * socket, in one place so that both get the same gates: authentication from `connection_init`
 * with the socket closed (4403) when its token expires, and every operation run through yoga's
 * own pipeline (`getResultForParams`) — persisted operations, auth, limits, masking — exactly as
 * on HTTP. The subprotocol adapters only translate messages.
 */
export function createSocketOperations({
  yoga,
  verifier,
  endpoint = '/graphql',
  maxOperations = 50,
  shareSubscriptionsOf,
  gate,
  addressOf = (request) => request.socket.remoteAddress ?? 'unknown',
  scopeOf,
}: SocketOperationsOptions) {
  const groups = createSubscriptionGroups();
  const states = new WeakMap<WebSocket, SocketState>();
  function stateOf(socket: WebSocket): SocketState {
    let state = states.get(socket);
    if (!state) states.set(socket, (state = { client: 'ip:unknown', messages: gate?.messages() ?? UNLIMITED, requestId: requestIdOf(undefined) }));
    return state;
  }
  const rateLimited = (message: string) => new GraphQLError(message, { extensions: { code: ErrorCode.RateLimited } });
  // This transport closes the socket at the token's exp itself (4403): no per-operation end.
  const serverContext: EndsSubscriptionsAtTokenExpiry & Record<string, unknown> = { endsSubscriptionsAtTokenExpiry: true };
  /** Whom each authenticated socket belongs to, from its `connection_init` (for shared streams). */
  const viewerOfSocket = new WeakMap<WebSocket, string>();
  /** The client headers of each socket's upgrade request. */
  const upgradeHeadersOfSocket = new WeakMap<WebSocket, Record<string, string>>();
  const origin = `http://localhost${endpoint}`;

  /** The persisted operation a request names, by id or (a subscription from Apollo iOS) by its text. */
  function persistedOperationOf(params: SocketOperationPayload) {
    if (!shareSubscriptionsOf) return undefined;
    const served = shareSubscriptionsOf();
    const id = extractOperationId({ extensions: params.extensions ?? undefined });
    if (id) return served.byId.get(id);
    const normalized = typeof params.query === 'string' ? normalizeOperationText(params.query) : null;
    return normalized === null ? undefined : served.byNormalizedText.get(normalized);
  }

  return {
    /** Remembers the app name and version of a socket's upgrade request, for every operation on it (the version gate). */
    identify(socket: WebSocket, upgrade: IncomingMessage) {
      stateOf(socket).requestId = requestIdOf(upgrade.headers['x-request-id']);
      const headers: Record<string, string> = {};
      for (const name of CLIENT_HEADERS) {
        const value = upgrade.headers[name];
        if (typeof value === 'string' && value) headers[name] = value;
      }
      if (Object.keys(headers).length) upgradeHeadersOfSocket.set(socket, headers);
    },

    /**
     * Authenticates a socket from its `connection_init` payload. No token: an anonymous socket
     * (operations needing a viewer are refused one by one). A bad or expired token: `false`, and
     * the adapter closes the socket with 4403 so that the client refreshes and reconnects. A good
     * one: the socket is closed with 4403 when it expires, so a revoked user cannot listen forever.
     * The identity provider unreachable, or the client over its sockets: closed here with 1013
     * (try again later, same token) and `false` (the adapter's 4403 then finds it closing).
     */
    async connect(socket: WebSocket, connectionParams: ConnectionParams, request: IncomingMessage): Promise<boolean> {
      const state = stateOf(socket);
      state.client = `ip:${addressOf(request)}`;
      const authorization = authorizationOf(connectionParams);
      let claims: Awaited<ReturnType<typeof authenticate>> = null;
      if (authorization) {
        try {
          claims = await authenticate(verifier, authorization);
        } catch (error) {
          if (error instanceof GraphQLError && error.extensions?.code === ErrorCode.AuthUnavailable) {
            socket.close(SocketCloseCode.TryAgainLater, 'Identity provider unavailable; retry later');
          }
          return false;
        }
        state.client = `sub:${claims!.sub}`;
      }
      if (gate) {
        const release = gate.openSocket(state.client);
        if (!release) {
          socket.close(SocketCloseCode.TryAgainLater, 'Too many sockets for this client; retry later');
          return false;
        }
        socket.once('close', release);
      }
      if (claims) {
        viewerOfSocket.set(socket, claims.sub);
        const ms = claims.exp * 1000 - Date.now();
        const timer = setTimeout(() => socket.close(4403, 'Token expired'), Math.max(0, Math.min(ms, 2 ** 31 - 1)));
        timer.unref();
        socket.once('close', () => clearTimeout(timer));
      }
      return true;
    },

    /**
     * Takes one message of `socket` that is not an operation (a ping, a pong, an init, junk) from
     * its allowance: past it, the socket is closed (1008) and `false` is returned.
     */
    message(socket: WebSocket): boolean {
      if (stateOf(socket).messages.take()) return true;
      socket.close(SocketCloseCode.PolicyViolation, 'Too many messages');
      return false;
    },

    /**
     * Runs one operation of a socket: `running` is how many the socket has open, this one
     * included. Streams of identical persisted subscriptions of one viewer are shared (see
     * `createSubscriptionGroups`); `frameType` is the message type the group writes events as.
     */
    async run({ socket, connectionParams, id, payload, running, frameType }: { socket: WebSocket; connectionParams: ConnectionParams; id: string; payload: SocketOperationPayload; running: number; frameType: FrameType }): Promise<SocketOperationOutcome> {
      // Each refusal answers this operation's id only: the socket and its other operations run on.
      const state = stateOf(socket);
      if (!state.messages.take()) return { errors: [rateLimited('Too many messages on this socket: slow down.')] };
      if (running > maxOperations) {
        return { errors: [rateLimited(`At most ${maxOperations} operations may run at once on one socket; complete one first.`)] };
      }
      // The same admission as an HTTP request: load shedding, then the client's rate.
      const refusal = await gate?.admitOperation(state.client);
      if (refusal) return { errors: [refusalError(refusal)] };
      const authorization = authorizationOf(connectionParams);
      const request = new Request(origin, {
        method: 'POST',
        // The app's name and version: the version gate and sunset notices apply per operation, as on HTTP.
        headers: {
          'content-type': 'application/json',
          'x-request-id': state.requestId,
          ...clientHeadersOf(upgradeHeadersOfSocket.get(socket), connectionParams),
          ...(authorization ? { authorization } : {}),
        },
      });
      const params = {
        query: payload.query || undefined,
        operationName: payload.operationName ?? undefined,
        variables: payload.variables ?? undefined,
        extensions: payload.extensions ?? undefined,
      };
      let result: ExecutionResult | AsyncIterable<ExecutionResult> | undefined;
      try {
        result = await yoga.getResultForParams({ params, request }, scopeOf ? { ...serverContext, ...scopeOf(state.requestId, id) } : serverContext);
      } catch (error) {
        return { errors: [withCode(error instanceof GraphQLError ? error : unexpectedError(), true) as GraphQLError] };
      }
      if (!result) return { errors: [unexpectedError()] };
      if (!isAsyncIterable(result) && result.data == null && result.errors?.length) {
        return { errors: result.errors.map((e) => withCode(e, true) as GraphQLError) };
      }
      // The same funnel as HTTP: every event of a stream, and a single result, with §9 codes.
      result = isAsyncIterable(result) ? clientStream(result) : clientResult(result, false);
      if (shareSubscriptionsOf && isAsyncIterable(result)) {
        const key = sharedSubscriptionKey(persistedOperationOf(params), params, viewerOfSocket.get(socket));
        if (key) return { result: groups.join(key, result, socket, id, frameType) };
      }
      return { result };
    },

    /** Subscribers of shared streams. */
    get sharedSubscribers() {
      return groups.subscribers;
    },
  };
}

export type SocketOperations = ReturnType<typeof createSocketOperations>;
