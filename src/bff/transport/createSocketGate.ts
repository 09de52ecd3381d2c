import type { Admission, Refusal } from '../limits/index.js';

/**
 * Close codes the BFF's WebSocket transports use beyond graphql-ws's own (4400, 4403, 4408,
 * 4429…). Standard codes (RFC 6455 §7.4.1), so that every client library knows what they mean:
 * graphql-ws's client retries 1013 with its back-off and treats 1008 as fatal; Apollo iOS
 * reconnects after any close; Apollo Kotlin hands the code to the app's `webSocketReopenWhen`.
 */
export const SocketCloseCode = {
  /** The socket broke a rule it will break again: more messages than the per-socket rate allows. Do not reconnect at once. */
  PolicyViolation: 1008,
  /** Not now, and not the client's token: the identity provider is unreachable, or the client already has its share of sockets. Reconnect later with the same token (no refresh). */
  TryAgainLater: 1013,
} as const;

export interface SocketGateOptions {
  /** Load shedding and the per-client rate, shared with HTTP. */
  admission: Admission;
  /** Sockets one client (token `sub`, else IP) may hold open at once; 0: no cap. */
  maxSocketsPerClient: number;
  /** Messages (operations, pings, pongs) one socket may send per second, sustained; 0: no cap. */
  messagesPerSecond: number;
  /** Messages one socket may send at once after being quiet. @default 2 × messagesPerSecond */
  messageBurst?: number;
  /** Epoch ms now. @default Date.now */
  now?: () => number;
}

/** One socket's message allowance (GCRA, as the rate limiter): `take()` is false past it. */
export interface MessageAllowance {
  take(): boolean;
}

/**
 * What a client may do over WebSockets, for every subprotocol the BFF speaks (graphql-ws and
 * the legacy subscriptions-transport-ws): the transport calls `openSocket` once a socket knows
 * its client (at `connection_init`), `messages()` once per socket for its allowance, and
 * `admitOperation` for every operation it is asked to start — the same admission (load
 * shedding, then the client's rate) as an HTTP request, so a socket is no way around either. A
 * refusal concerns that one operation or socket: the client's other operations run on.
 */
export function createSocketGate({ admission, maxSocketsPerClient, messagesPerSecond, messageBurst = 2 * messagesPerSecond, now = Date.now }: SocketGateOptions) {
  const open = new Map<string, number>();
  return {
    /**
     * Counts a socket of `client`. Returns the function that uncounts it (call it when the socket
     * closes), or `undefined` when the client already holds `maxSocketsPerClient` sockets: close
     * this one with `SocketCloseCode.TryAgainLater`.
     */
    openSocket(client: string): (() => void) | undefined {
      const count = open.get(client) ?? 0;
      if (maxSocketsPerClient > 0 && count >= maxSocketsPerClient) return undefined;
      open.set(client, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(client) ?? 1) - 1;
        if (left > 0) open.set(client, left);
        else open.delete(client);
      };
    },
    /** A new socket's message allowance. */
    messages(): MessageAllowance {
      if (messagesPerSecond <= 0) return { take: () => true };
      const interval = 1000 / messagesPerSecond;
      const tolerance = interval * messageBurst;
      let tat = 0;
      return {
        take() {
          const t = now();
          const next = Math.max(tat, t) + interval;
          if (next - tolerance > t) return false;
          tat = next;
          return true;
        },
      };
    },
    /** Whether one more operation of `client` may start now (see `Admission.admit`). */
    admitOperation(client: string): Promise<Refusal | undefined> {
      return admission.admit(client);
    },
    /** Sockets counted now, all clients together. */
    get sockets() {
      let total = 0;
      for (const n of open.values()) total += n;
      return total;
    },
  };
}

export type SocketGate = ReturnType<typeof createSocketGate>;
