import type { RateLimiter, RateLimiterOptions } from './RateLimiter.js';

/**
 * Milliseconds with a fraction (microseconds), not `Date.now()`'s whole ones: at a high limit the
 * burst's tolerance is under a millisecond (1,000,000/s with a burst of 40: 0.04 ms), and requests
 * that one whole millisecond lumps together would look simultaneous and be refused.
 */
const preciseNow = () => performance.timeOrigin + performance.now();

/**
 * The rate limiter of one instance: per client, the "theoretical arrival time" of its next
 * request (GCRA). A request is allowed when that time is at most `burst` intervals ahead of now.
 * Clients idle long enough to be back at a full burst are forgotten every `sweepIntervalMs`, so
 * memory follows the number of recently active clients.
 */
export function createMemoryRateLimiter({ perSecond, burst, sweepIntervalMs = 60_000, now = preciseNow }: RateLimiterOptions & { /** @default 60000 */ sweepIntervalMs?: number; now?: () => number }): RateLimiter {
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
