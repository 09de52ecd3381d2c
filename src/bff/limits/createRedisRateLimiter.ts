import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RateLimiter, RateLimiterOptions } from './RateLimiter.js';

// GCRA in one atomic step, on Redis's clock so that every instance agrees on "now", in
// milliseconds with microseconds (as the in-memory limiter: a high limit's tolerance is under a
// millisecond), stored to the microsecond.
// KEYS[1]: the client's key. ARGV: interval (ms per request), tolerance (interval × burst).
// Returns 0 when allowed, else the milliseconds until the next request would be.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nextTat = tat + interval
if nextTat - tolerance > now then return math.ceil(nextTat - tolerance - now) end
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now))
return 0
`;

export interface RedisRateLimiterOptions extends RateLimiterOptions {
  url: string;
  /** Prefix of the keys, one per client. @default 'mobile-bff:rate:' */
  keyPrefix?: string;
  logger: Logger;
}

/**
 * The rate limiter shared by every BFF instance (`REDIS_URL`): the same GCRA as in memory, one
 * key per client that expires once the client is back at a full burst. When Redis cannot answer,
 * requests are allowed (fail open) and the outage is logged once: a broken limiter must not take
 * the API down with it.
 */
export function createRedisRateLimiter({ url, perSecond, burst, keyPrefix = 'mobile-bff:rate:', logger }: RedisRateLimiterOptions): RateLimiter & { /** Resolves once Redis answers (until then every request is allowed); rejects after `timeoutMs` (10 s). */ ready(timeoutMs?: number): Promise<void> } {
  const interval = 1000 / perSecond;
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250, connectTimeout: 2000 });
  let failing = false;
  redis.on('error', (error: Error) => {
    if (!failing) logger.warn({ err: error }, 'rate limiter: Redis unavailable, requests are not limited until it is back');
    failing = true;
  });
  redis.on('ready', () => {
    failing = false;
  });
  return {
    async take(key) {
      try {
        const wait = Number(await redis.eval(GCRA, 1, keyPrefix + key, interval, interval * burst));
        return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
      } catch {
        return { allowed: true };
      }
    },
    ready: (timeoutMs = 10_000) =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`rate limiter: Redis not ready within ${timeoutMs} ms`)), timeoutMs);
            redis.once('ready', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
