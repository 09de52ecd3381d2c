import { Redis } from 'ioredis';
import type { CachedResult, ResponseCacheStore } from './ResponseCacheStore.js';

// KEYS: 1 the result, 2 its freshness mark, 3 the store order (zset), 4 the sizes (hash, '#total' the sum).
// ARGV: 1 key, 2 result JSON, 3 keep ms, 4 fresh ms, 5 now, 6 size, 7 max entries, 8 max bytes, 9 prefix, 10.. entities.
const PUT = `
local prefix = ARGV[9]
local function drop(k)
  local s = tonumber(redis.call('HGET', KEYS[4], k) or '0')
  redis.call('HDEL', KEYS[4], k)
  if s > 0 then redis.call('HINCRBY', KEYS[4], '#total', string.format('%d', -s)) end
  redis.call('ZREM', KEYS[3], k)
  redis.call('DEL', prefix .. ':r:' .. k, prefix .. ':f:' .. k)
end
drop(ARGV[1])
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[5]) - tonumber(ARGV[3]))) do drop(k) end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[6])
local total = redis.call('HINCRBY', KEYS[4], '#total', ARGV[6])
for i = 10, #ARGV do
  local t = prefix .. ':t:' .. ARGV[i]
  redis.call('SADD', t, ARGV[1])
  redis.call('PEXPIRE', t, ARGV[3])
end
while redis.call('ZCARD', KEYS[3]) > tonumber(ARGV[7]) or total > tonumber(ARGV[8]) do
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0)
  if #oldest == 0 then break end
  drop(oldest[1])
  total = tonumber(redis.call('HGET', KEYS[4], '#total') or '0')
end
return total
`;

// KEYS: the entities' key sets. ARGV: 1 prefix. Deletes the freshness marks of their results.
const INVALIDATE = `
local n = 0
for _, t in ipairs(KEYS) do
  for _, k in ipairs(redis.call('SMEMBERS', t)) do n = n + redis.call('DEL', ARGV[1] .. ':f:' .. k) end
  redis.call('DEL', t)
end
return n
`;

/**
 * Results in Redis, shared by every instance: `<prefix>:r:<key>` the result (kept for the stale
 * maximum), `<prefix>:f:<key>` its freshness (expires with its max age; deleted by an
 * invalidation), `<prefix>:t:<entity>` the keys holding an entity, and a store order and sizes
 * that bound the whole by entries and bytes (the oldest stored go first). Each write and each
 * invalidation is one script, atomic. Redis unavailable: lookups miss and writes are skipped
 * (the caller logs); requests never fail for it.
 */
export async function createRedisStore({ url, prefix, maxEntries, maxBytes, now = Date.now }: { url: string; prefix: string; maxEntries: number; maxBytes: number; now?: () => number }): Promise<ResponseCacheStore> {
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000) });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`REDIS_URL: the response cache cannot connect to ${url.replace(/\/\/[^@]*@/, '//***@')}: ${(error as Error).message}`);
  }
  redis.defineCommand('rcPut', { numberOfKeys: 4, lua: PUT });
  const commands = redis as Redis & {
    rcPut(...args: (string | number)[]): Promise<number>;
  };
  return {
    async get(key) {
      const [raw, fresh] = await redis.mget(`${prefix}:r:${key}`, `${prefix}:f:${key}`);
      if (!raw) return undefined;
      const result = JSON.parse(raw) as CachedResult;
      return { result, fresh: fresh === '1' && now() < result.expiresAt };
    },
    async put(key, result, { freshMs, keepMs, entities }) {
      const json = JSON.stringify(result);
      const size = Buffer.byteLength(json) + key.length + 64;
      if (size > maxBytes) return;
      await commands.rcPut(`${prefix}:r:${key}`, `${prefix}:f:${key}`, `${prefix}:order`, `${prefix}:sizes`, key, json, Math.max(1, Math.ceil(keepMs)), Math.max(1, Math.ceil(freshMs)), now(), size, maxEntries, maxBytes, prefix, ...entities);
    },
    async invalidate(entities) {
      if (entities.length === 0) return 0;
      return (await redis.eval(INVALIDATE, entities.length, ...entities.map((e) => `${prefix}:t:${e}`), prefix)) as number;
    },
    async close() {
      redis.disconnect();
    },
  };
}
