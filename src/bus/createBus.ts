import type { Bus } from './Bus.js';
import { createInProcessBus } from './createInProcessBus.js';
import { createPostgresBus } from './createPostgresBus.js';
import { createRedisBus } from './createRedisBus.js';

export interface CreateBusOptions {
  redisUrl: string | undefined;
  databaseUrl: string | undefined;
  onError?: (error: Error) => void;
}

/**
 * The bus for a topology: Redis when `REDIS_URL` is set (scale-out); else PostgreSQL
 * LISTEN/NOTIFY when `DATABASE_URL` is set (separate processes still hear each other); else in
 * process (embedded: everything in one process). Channels are named after the database, so
 * deployments (and test databases) sharing one Redis never hear each other.
 */
export async function createBus({ redisUrl, databaseUrl, onError }: CreateBusOptions): Promise<Bus> {
  const database = databaseUrl ? new URL(databaseUrl).pathname.replace(/^\//, '') || 'postgres' : 'embedded';
  if (redisUrl) return createRedisBus({ url: redisUrl, prefix: `mobile-bff:${database}`, ...(onError ? { onError } : {}) });
  if (databaseUrl) return createPostgresBus({ url: databaseUrl, ...(onError ? { onError } : {}) });
  return createInProcessBus();
}
