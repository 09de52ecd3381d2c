import type { AddressInfo } from 'node:net';
import type { Bus } from '../bus/index.js';
import type { Database } from '../db/index.js';
import { createCatalogService } from './catalog/createCatalogService.js';
import { createNotificationsService } from './notifications/createNotificationsService.js';
import { createTombstonePurgeJob } from './changes/index.js';
import { createOrdersService } from './orders/createOrdersService.js';
import { seedDemoData } from './seed/seedDemoData.js';
import { createUsersService } from './users/createUsersService.js';

export type ServiceName = 'users' | 'catalog' | 'orders' | 'notifications';
export const serviceNames: readonly ServiceName[] = ['users', 'catalog', 'orders', 'notifications'];

const factories = { users: createUsersService, catalog: createCatalogService, orders: createOrdersService, notifications: createNotificationsService };

export interface ReferenceServicesOptions {
  database: Database;
  bus: Bus;
  /** Which services to run. @default all four */
  names?: readonly ServiceName[];
  /** Port per service; 0 picks a free one. @default 0 */
  ports?: Partial<Record<ServiceName, number>>;
  /** @default '127.0.0.1' */
  host?: string;
  /** Seed the demo data after migrating. @default false */
  seed?: boolean;
  /** How long the change feeds keep tombstones of deleted rows, in days; purged hourly. @default 30 */
  tombstoneRetentionDays?: number;
}

export interface ReferenceServices {
  /** Base URL of each running service, e.g. `http://127.0.0.1:4002`. */
  urls: Partial<Record<ServiceName, string>>;
  stop(): Promise<void>;
}

/**
 * Migrates, optionally seeds, and starts the named reference services on their own HTTP ports,
 * with the tombstone purge job of each service that has a change feed.
 */
export async function startReferenceServices({ database, bus, names = serviceNames, ports = {}, host = '127.0.0.1', seed = false, tombstoneRetentionDays = 30 }: ReferenceServicesOptions): Promise<ReferenceServices> {
  const services = names.map((name) => factories[name]({ database, bus, tombstoneRetentionDays }));
  for (const service of services) await service.migrate();
  if (seed) await seedDemoData(database, { users: names.includes('users'), catalog: names.includes('catalog'), orders: names.includes('orders') });
  const urls: ReferenceServices['urls'] = {};
  try {
    for (const service of services) {
      await service.app.listen({ port: ports[service.name] ?? 0, host });
      const { port } = service.app.server.address() as AddressInfo;
      urls[service.name] = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    }
  } catch (error) {
    await Promise.all(services.map((s) => s.app.close()));
    throw error;
  }
  const purgeJobs = services.flatMap((s) => ('purgeTombstones' in s ? [createTombstonePurgeJob({ purge: () => s.purgeTombstones() })] : []));
  for (const job of purgeJobs) job.start();
  return {
    urls,
    async stop() {
      await Promise.all(purgeJobs.map((job) => job.stop()));
      await Promise.all(services.map((s) => s.app.close()));
    },
  };
}
