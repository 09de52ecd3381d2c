import type { RateLimiter, RateLimiterOptions } from './RateLimiter.js';

/**
 * The rate limiter of one instance: per client, the "theoretical arrival time" of its next
 * request (GCRA). A request is allowed when that time is at most `burst` intervals ahead of now.
 * Clients idle long enough to be back at a full burst are forgotten every `sweepIntervalMs`, so
 * memory follows the number of recently active clients.
 */
export function createMemoryRateLimiter({ perSecond, burst, sweepIntervalMs = 60_000, now = Date.now }: RateLimiterOptions & { /** @default 60000 */ sweepIntervalMs?: number; now?: () => number }): RateLimiter {
  const interval = 1000 / perSecond;
  const tolerance = interval * burst;
  const arrivals = new Map<string, number>();
  const sweep = setInterval(() => {
    const t = now();
    for (const [key, tat] of arrivals) if (tat <= t) arrivals.delete(key);
  }, sweepIntervalMs);
  sweep.unref();
  return {
    async take(key) {
      const t = now();
      const next = Math.max(arrivals.get(key) ?? t, t) + interval;
      if (next - tolerance > t) return { allowed: false, retryAfterMs: Math.ceil(next - tolerance - t) };
      arrivals.set(key, next);
      return { allowed: true };
    },
    async close() {
      clearInterval(sweep);
      arrivals.clear();
    },
  };
}
