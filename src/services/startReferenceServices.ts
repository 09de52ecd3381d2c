import type { AddressInfo } from 'node:net';
import type { Bus } from '../bus/index.js';
import type { Logger } from 'pino';
import type { Database } from '../db/index.js';
import type { PushConfig } from './notifications/PushConfig.js';
import { createTombstonePurgeJob } from './changes/index.js';
import { serviceEnvName, serviceNames, type ServiceName } from './downstreamServices.js';
import { referenceServices, type ReferenceServiceFactory } from './referenceServices.js';
import { seedDemoData } from './seed/seedDemoData.js';

export { serviceNames, type ServiceName };

export interface ReferenceServicesOptions<S extends string = ServiceName> {
  database: Database;
  bus: Bus;
  /** The reference implementation of each service. @default the application's (src/services/referenceServices.ts) */
  implementations?: Partial<Record<S, ReferenceServiceFactory>>;
  /** Which services to run. @default every service that has an implementation */
  names?: readonly S[];
  /** Port per service; 0 picks a free one. @default 0 */
  ports?: Partial<Record<S, number>>;
  /** @default '127.0.0.1' */
  host?: string;
  /** Seed the demo data after migrating. @default false */
  seed?: boolean;
  /** How long the change feeds keep tombstones of deleted rows, in days; purged hourly. @default 30 */
  tombstoneRetentionDays?: number;
  /** How the notifications service sends pushes. @default none: it keeps the registry and sends nothing */
  push?: PushConfig | undefined;
  logger?: Logger | undefined;
  /** URLs of the services running elsewhere (the `<NAME>_URL`s), for services that call others. */
  otherUrls?: Partial<Record<string, string | undefined>>;
}

export interface ReferenceServices<S extends string = ServiceName> {
  /** Base URL of each running service, e.g. `http://127.0.0.1:4002`. */
  urls: Partial<Record<S, string>>;
  stop(): Promise<void>;
}

/**
 * Migrates, optionally seeds, and starts the named reference services on their own HTTP ports, with the tombstone purge job of each service that
 * has a change feed.
 */
export async function startReferenceServices<S extends string = ServiceName>({
  database,
  bus,
  implementations = referenceServices as Partial<Record<S, ReferenceServiceFactory>>,
  names = Object.keys(implementations) as S[],
  ports = {},
  host = '127.0.0.1',
  seed = false,
  tombstoneRetentionDays = 30,
  push,
  logger,
  otherUrls = {},
}: ReferenceServicesOptions<S>): Promise<ReferenceServices<S>> {
  const services = names.map((name) => {
    const create = implementations[name];
    if (!create) throw new Error(`The ${name} service has no reference implementation to start: set ${serviceEnvName(name, 'URL')} to where it runs.`);
    return { name, service: create({ database, bus, tombstoneRetentionDays, push, logger }) };
  });
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
  const everyUrl = { ...Object.fromEntries(Object.entries(otherUrls).filter(([, url]) => url)), ...urls } as Partial<Record<string, string>>;
  const started: typeof services = [];
  const stopStarted = () => Promise.all(started.map(({ service }) => service.stop?.()));
  try {
    for (const entry of services) {
      await entry.service.start?.({ urls: everyUrl });
      started.push(entry);
    }
  } catch (error) {
    await stopStarted();
    await Promise.all(purgeJobs.map((job) => job.stop()));
    await Promise.all(services.map(({ service }) => service.app.close()));
    throw error;
  }
  return {
    urls,
    async stop() {
      await stopStarted();
      await Promise.all(purgeJobs.map((job) => job.stop()));
      await Promise.all(services.map(({ service }) => service.app.close()));
    },
  };
}
