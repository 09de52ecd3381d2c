import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors/index.js';
import type { RateLimiter } from './RateLimiter.js';

/** Why an operation was not let in, and when its client may try again. */
export interface Refusal {
  /** `overloaded`: the process sheds load; `rate_limited`: the client is over its rate. */
  reason: 'overloaded' | 'rate_limited';
  /** The HTTP status a request answers with: 503 while shedding load, 429 over the client's rate. */
  status: 503 | 429;
  retryAfterSeconds: number;
  /** For the client: what happened and when to retry. */
  message: string;
}

export interface AdmissionOptions {
  /** Whether the process is overloaded right now (the event loop lags); absent: never shed. */
  overloaded?: () => boolean;
  /** The per-client rate limit; absent: no limit. */
  limiter?: RateLimiter;
  /** Called for every refusal (metrics). */
  onRefused?: (refusal: Refusal) => void;
  /** `Retry-After` of a shed operation, in seconds. @default 1 */
  shedRetryAfterSeconds?: number;
}

/** Lets operations in, or not: one decision for every transport (HTTP, SSE, WebSocket). */
export interface Admission {
  /**
   * Whether one more GraphQL operation of `client` (e.g. `sub:<id>` or `ip:<address>`) may run
   * now: `undefined` when it may (and it is counted), else the refusal. Never throws.
   */
  admit(client: string): Promise<Refusal | undefined>;
}

/**
 * The admission of every GraphQL operation, whatever carries it: an HTTP request (one per
 * request; `BATCH_LIMIT` bounds a batch), each `subscribe` on a WebSocket, an SSE stream. Load
 * shedding first (an overloaded process should not even ask the limiter's Redis), then the
 * client's rate. Both answer `RATE_LIMITED`: to a client, either means "back off, retry after".
 */
export function createAdmission({ overloaded, limiter, onRefused, shedRetryAfterSeconds = 1 }: AdmissionOptions): Admission {
  const refuse = (refusal: Refusal) => {
    onRefused?.(refusal);
    return refusal;
  };
  return {
    async admit(client) {
      if (overloaded?.()) {
        return refuse({ reason: 'overloaded', status: 503, retryAfterSeconds: shedRetryAfterSeconds, message: `The server is overloaded: retry after ${shedRetryAfterSeconds} s.` });
      }
      if (!limiter) return undefined;
      const decision = await limiter.take(client);
      if (decision.allowed) return undefined;
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      return refuse({ reason: 'rate_limited', status: 429, retryAfterSeconds: seconds, message: `Too many requests: retry after ${seconds} s.` });
    },
  };
}

/** A refusal as the GraphQL error a client sees: `RATE_LIMITED`, with `retryAfterSeconds`. */
export function refusalError(refusal: Refusal): GraphQLError {
  return new GraphQLError(refusal.message, {
    extensions: {
      code: ErrorCode.RateLimited,
      retryAfterSeconds: refusal.retryAfterSeconds,
      http: { status: refusal.status, headers: { 'Retry-After': String(refusal.retryAfterSeconds) } },
    },
  });
}
