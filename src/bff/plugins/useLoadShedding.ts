import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';

export interface UseLoadSheddingOptions {
  /** Whether the process is overloaded right now (e.g. the event loop lags). */
  overloaded: () => boolean;
  /** `Retry-After` of a shed request, in seconds. @default 1 */
  retryAfterSeconds?: number;
  /** Paths always served: liveness and metrics must answer most when things go wrong. @default ['/health', '/metrics'] */
  exempt?: readonly string[];
  /** Called for every shed request (metrics). */
  onShed?: () => void;
}

/**
 * Sheds new requests with 503 and `Retry-After` while the process is overloaded, instead of
 * queueing them without bound: an answer that comes too late is no answer for a phone, and
 * every queued request makes the others later. The error code is `RATE_LIMITED`, the §9 code
 * whose meaning to a client, "back off and retry after `Retry-After`", is what it should do.
 */
export function useLoadShedding({ overloaded, retryAfterSeconds = 1, exempt = ['/health', '/metrics'], onShed }: UseLoadSheddingOptions): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (exempt.includes(url.pathname) || !overloaded()) return;
      onShed?.();
      const body = { errors: [{ message: `The server is overloaded: retry after ${retryAfterSeconds} s.`, extensions: { code: ErrorCode.RateLimited, retryAfterSeconds } }] };
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), {
          status: 503,
          headers: { 'content-type': 'application/graphql-response+json; charset=utf-8', 'retry-after': String(retryAfterSeconds), 'cache-control': 'private, no-store' },
        }),
      );
    },
  };
}
