/** The outcome of taking one request from a client's allowance. */
export type RateDecision = { allowed: true } | { allowed: false; /** When the next request would be allowed. */ retryAfterMs: number };

/**
 * A per-client request allowance: `perSecond` sustained, `burst` at once (GCRA, the "generic cell
 * rate algorithm": one timestamp per client, no background refill). In memory for one instance,
 * in Redis for all instances together.
 */
export interface RateLimiter {
  take(key: string): Promise<RateDecision>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  /** Sustained requests per second per client. */
  perSecond: number;
  /** Requests a client may send at once after being idle. */
  burst: number;
}
