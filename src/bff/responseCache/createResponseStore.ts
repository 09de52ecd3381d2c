import { createHash } from 'node:crypto';
import { printSchema, type GraphQLSchema } from 'graphql';
import type { Config } from '../../config/loadConfig.js';
import { createMemoryStore } from './createMemoryStore.js';
import { createRedisStore } from './createRedisStore.js';
import type { ResponseCacheStore } from './ResponseCacheStore.js';

/**
 * The store for the configuration: Redis when `REDIS_URL` is set (every instance shares it), else
 * in process. Redis keys are named after the database (as the bus's channels) and the schema, so
 * deployments sharing a Redis, and versions of the schema during a rollout, never read each other's.
 */
export async function createResponseStore({ config, schema }: { config: Config; schema: GraphQLSchema }): Promise<ResponseCacheStore> {
  const { maxEntries, maxBytes } = config.responseCache;
  if (!config.redisUrl) return createMemoryStore({ maxEntries, maxBytes });
  const database = config.databaseUrl ? new URL(config.databaseUrl).pathname.replace(/^\//, '') || 'postgres' : 'embedded';
  const version = createHash('sha256').update(printSchema(schema)).digest('base64url').slice(0, 12);
  return createRedisStore({ url: config.redisUrl, prefix: `mobile-bff:${database}:response-cache:${version}`, maxEntries, maxBytes });
}
