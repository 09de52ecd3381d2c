import type { AddressInfo } from 'node:net';
import type { Bus } from '../bus/index.js';
import type { Database } from '../db/index.js';
import { createTombstonePurgeJob } from './changes/index.js';
import { downstreamServices, serviceEnvName, serviceNames, type DownstreamServices, type ReferenceService, type ServiceName } from './downstreamServices.js';
import { seedDemoData } from './seed/seedDemoData.js';

export { serviceNames, type ServiceName };

export interface ReferenceServicesOptions<S extends string = ServiceName> {
  database: Database;
  bus: Bus;
  /** Where the services' reference implementations come from. @default the application's registry */
  registry?: DownstreamServices<S>;
  /** Which services to run. @default every service of the registry */
  names?: readonly S[];
  /** Port per service; 0 picks a free one. @default 0 */
  ports?: Partial<Record<S, number>>;
  /** @default '127.0.0.1' */
  host?: string;
  /** Seed the demo data after migrating. @default false */
  seed?: boolean;
  /** How long the change feeds keep tombstones of deleted rows, in days; purged hourly. @default 30 */
  tombstoneRetentionDays?: number;
}

export interface ReferenceServices<S extends string = ServiceName> {
  /** Base URL of each running service, e.g. `http://127.0.0.1:4002`. */
  urls: Partial<Record<S, string>>;
  stop(): Promise<void>;
}

/**
 * Migrates, optionally seeds, and starts the named reference services (their implementations
 * from the registry) on their own HTTP ports, with the tombstone purge job of each service that
 * has a change feed.
 */
export async function startReferenceServices<S extends string = ServiceName>({
  database,
  bus,
  registry = downstreamServices as unknown as DownstreamServices<S>,
  names = Object.keys(registry) as S[],
  ports = {},
  host = '127.0.0.1',
  seed = false,
  tombstoneRetentionDays = 30,
}: ReferenceServicesOptions<S>): Promise<ReferenceServices<S>> {
  const services: { name: S; service: ReferenceService }[] = [];
  // One at a time: jest's ESM runtime fails concurrent dynamic imports of shared modules ("request for … is not in cache").
  for (const name of names) {
    const reference = registry[name].reference;
    if (!reference) throw new Error(`The ${name} service has no reference implementation to start: set ${serviceEnvName(name, 'URL')} to where it runs.`);
    services.push({ name, service: (await reference())({ database, bus, tombstoneRetentionDays }) });
  }
  for (const { service } of services) await service.migrate();
  const named = names as readonly string[];
  if (seed) await seedDemoData(database, { users: named.includes('users'), catalog: named.includes('catalog'), orders: named.includes('orders') });
  const urls: ReferenceServices<S>['urls'] = {};
  try {
    for (const { name, service } of services) {
      await service.app.listen({ port: ports[name] ?? 0, host });
      const { port } = service.app.server.address() as AddressInfo;
      urls[name] = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    }
  } catch (error) {
    await Promise.all(services.map(({ service }) => service.app.close()));
    throw error;
  }
  const purgeJobs = services.flatMap(({ service }) => (service.purgeTombstones ? [createTombstonePurgeJob({ purge: () => service.purgeTombstones!() })] : []));
  for (const job of purgeJobs) job.start();
  return {
    urls,
    async stop() {
      await Promise.all(purgeJobs.map((job) => job.stop()));
      await Promise.all(services.map(({ service }) => service.app.close()));
    },
  };
}
