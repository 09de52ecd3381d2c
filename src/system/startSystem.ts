import { join } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { createBus, type Bus } from '../bus/index.js';
import type { Config } from '../config/loadConfig.js';
import { createBff, type Bff } from '../bff/createBff.js';
import { createDatabase, isNewEmbeddedDatabase, type Database } from '../db/index.js';
import { createLogger } from '../logging/createLogger.js';
import { serviceNames, startReferenceServices, type ReferenceServices, type ServiceName } from '../services/startReferenceServices.js';
import { seededSnapshot, seededSnapshotDirectory } from './seededSnapshot.js';

export interface System {
  bff: Bff;
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** Base URL of each downstream service, in-process or configured. */
  serviceUrls: Record<ServiceName, string>;
  database: Database;
  stop(): Promise<void>;
}

export interface SystemOptions {
  config: Config;
  logger?: Logger;
  /** Seed the demo data into in-process services. @default true */
  seed?: boolean;
  /** More yoga plugins for the BFF (tests observe the pipeline with them). */
  bffPlugins?: Plugin[];
  /**
   * A database the caller opened and will close, instead of one from the config (tests that run
   * services of their own on it: one embedded PGlite instead of two, each costing seconds to start).
   */
  database?: Database;
  /** A bus the caller opened and will close (tests whose services publish on it), instead of one from the config. */
  bus?: Bus;
}

/** For a new database on disk: the unpacked snapshot to copy, or the tarball if the cache folder is read-only. */
async function seededDirectoryOrTarball() {
  const directory = await seededSnapshotDirectory();
  return directory ? { directory } : await seededSnapshot();
}

/**
 * Starts the BFF and, for every downstream service without a configured URL, the reference
 * service in this process. The database is `DATABASE_URL` or embedded PGlite under `dataDir`
 * (`DATA_DIR=memory://` keeps it in memory).
 */
export async function startSystem({ config, logger = createLogger({ level: config.logLevel, format: config.logFormat }), seed = true, bffPlugins, database: given, bus: givenBus }: SystemOptions): Promise<System> {
  const dataDir = config.databaseUrl ? undefined : config.dataDir === 'memory://' ? 'memory://' : join(config.dataDir, 'pglite');
  const missing = serviceNames.filter((name) => !config.services[name]);
  // A new embedded database for the whole system in process, seeded: started from the seeded
  // snapshot (migrated and seeded once, cached) instead of initdb, migrations and seed each time.
  const fromSnapshot = !given && !config.databaseUrl && seed && missing.length === serviceNames.length && isNewEmbeddedDatabase(dataDir);
  const database =
    given ??
    (await createDatabase({
      url: config.databaseUrl,
      dataDir,
      initialData: !fromSnapshot ? undefined : dataDir === 'memory://' ? await seededSnapshot() : await seededDirectoryOrTarball(),
    }));
  const closeDatabase = () => (given ? Promise.resolve() : database.close());
  let bus: Bus;
  const closeBus = () => (givenBus ? Promise.resolve() : bus.close());
  try {
    bus = givenBus ?? (await createBus({ redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, onError: (error) => logger.warn({ err: error }, 'event bus') }));
  } catch (error) {
    await closeDatabase();
    throw error;
  }
  let services: ReferenceServices | undefined;
  let bff: Bff | undefined;
  try {
    // Seeded already when started from the snapshot.
    services = missing.length ? await startReferenceServices({ database, bus, names: missing, seed: seed && !fromSnapshot, tombstoneRetentionDays: config.tombstoneRetentionDays, push: config.push, logger, otherUrls: config.services }) : undefined;
    const serviceUrls = Object.fromEntries(serviceNames.map((name) => [name, config.services[name] ?? services!.urls[name]!])) as Record<ServiceName, string>;
    bff = createBff({ config, database, serviceUrls, bus, logger, ...(bffPlugins ? { plugins: bffPlugins } : {}) });
    const url = await bff.start();
    const started = bff;
    return {
      bff: started,
      url,
      serviceUrls,
      database,
      async stop() {
        await started.stop();
        await services?.stop();
        await closeBus();
        await closeDatabase();
      },
    };
  } catch (error) {
    await bff?.stop().catch(() => {});
    await services?.stop().catch(() => {});
    await closeBus().catch(() => {});
    await closeDatabase().catch(() => {});
    throw error;
  }
}
