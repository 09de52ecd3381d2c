import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';
import type { RateLimiter } from '../limits/index.js';

export interface UseRateLimitOptions<ServerContext> {
  limiter: RateLimiter;
  /** Who sent the request: e.g. the verified token's `sub`, else the client's IP. */
  keyOf: (request: Request, serverContext: ServerContext) => string | Promise<string>;
  /** Called for every refused request (metrics). */
  onLimited?: (key: string) => void;
  /** @default '/graphql' */
  endpoint?: string;
}

/**
 * A per-client rate limit on the GraphQL endpoint. Over it, the request is refused before any
 * work with HTTP 429, `Retry-After` (seconds, rounded up) and a `RATE_LIMITED` error in the
 * GraphQL media type, which Apollo Kotlin ≥ 4.1 parses on non-2xx responses.
 */
export function useRateLimit<ServerContext extends Record<string, unknown>>({ limiter, keyOf, onLimited, endpoint = '/graphql' }: UseRateLimitOptions<ServerContext>): Plugin<Record<string, unknown>, ServerContext> {
  return {
    async onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint) return;
      const key = await keyOf(request, serverContext);
      const decision = await limiter.take(key);
      if (decision.allowed) return;
      onLimited?.(key);
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      const body = { errors: [{ message: `Too many requests: retry after ${seconds} s.`, extensions: { code: ErrorCode.RateLimited, retryAfterSeconds: seconds } }] };
      endResponse(
        new fetchAPI.Response(JSON.stringify(body), {
          status: 429,
          headers: { 'content-type': 'application/graphql-response+json; charset=utf-8', 'retry-after': String(seconds), 'cache-control': 'private, no-store' },
        }),
      );
    },
  };
}
