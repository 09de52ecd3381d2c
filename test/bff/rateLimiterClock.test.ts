import pino from 'pino';
import { createMemoryRateLimiter, createRedisRateLimiter } from '../../src/bff/limits/index.js';
import type { RateLimiter } from '../../src/bff/limits/RateLimiter.js';

// The limiters count time in microseconds: at a high limit the burst's tolerance is under a
// millisecond (1,000,000/s with a burst of 40: 40 µs), and a clock of whole milliseconds made
// every request of one millisecond look simultaneous — the 41st was refused at ~41,000/s, far
// under the limit (seen as sporadic 429s at ~28,000 requests/s). With a burst of 2 the whole-
// millisecond clock refuses the third request of any millisecond: 200 requests ~15 µs apart hold
// many such milliseconds (on Redis too, while a round trip takes under ~0.3 ms).

/** Waits at least `us` microseconds on the clock (a spacing, not a synchronisation: more is fine). */
function spin(us: number) {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** A limiter that answers: the Redis one allows everything (fails open) until it is connected. */
async function answering<L extends RateLimiter & { ready?: () => Promise<void> }>(limiter: L): Promise<L> {
  try {
    await limiter.ready?.();
  } catch (error) {
    await limiter.close();
    throw error;
  }
  return limiter;
}

const limiters: [string, () => Promise<RateLimiter>, boolean][] = [
  ['in memory', () => answering(createMemoryRateLimiter({ perSecond: 1_000_000, burst: 2 })), true],
  ['on Redis', () => answering(createRedisRateLimiter({ url: process.env.REDIS_URL!, perSecond: 1_000_000, burst: 2, keyPrefix: `test:rate:${process.pid}:${Date.now()}:`, logger: pino({ level: 'silent' }) })), Boolean(process.env.REDIS_URL)],
];

describe.each(limiters)('the rate limiter %s at 1,000,000/s with a burst of 2', (_name, create, available) => {
  const maybe = available ? it : it.skip;

  maybe('allows 200 requests of one client spaced 15 µs apart (~66,000/s): under the limit whatever millisecond they share', async () => {
    const limiter = await create();
    try {
      const refused: number[] = [];
      for (let i = 0; i < 200; i++) {
        spin(15);
        if (!(await limiter.take('one-client')).allowed) refused.push(i);
      }
      expect(refused).toEqual([]);
    } finally {
      await limiter.close();
    }
  });
});

describe.each([
  ['in memory', (perSecond: number, burst: number) => answering(createMemoryRateLimiter({ perSecond, burst })), true],
  ['on Redis', (perSecond: number, burst: number) => answering(createRedisRateLimiter({ url: process.env.REDIS_URL!, perSecond, burst, keyPrefix: `test:rate:${process.pid}:${Date.now()}:b:`, logger: pino({ level: 'silent' }) })), Boolean(process.env.REDIS_URL)],
] as const)('the rate limiter %s at 1/s with a burst of 2', (_name, create, available) => {
  const maybe = available ? it : it.skip;

  maybe('refuses the third request of a client sent at once, with the wait until the next one, and not another client', async () => {
    const limiter = await create(1, 2);
    try {
      const got = [];
      for (let i = 0; i < 3; i++) got.push(await limiter.take('busy'));
      expect(got.map((r) => r.allowed)).toEqual([true, true, false]);
      const refused = got[2]!;
      expect(refused.allowed === false && refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000).toBe(true);
      expect((await limiter.take('other')).allowed).toBe(true);
    } finally {
      await limiter.close();
    }
  });
});
