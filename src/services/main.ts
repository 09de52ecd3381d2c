import { createBus } from '../bus/index.js';
import { loadConfigOrExit } from '../config/loadConfig.js';
import { createDatabase } from '../db/index.js';
import { createLogger } from '../logging/createLogger.js';
import { serviceNames, startReferenceServices, type ServiceName } from './startReferenceServices.js';

// `npm run services [-- users catalog orders notifications] [--seed]`: the named reference services
// (all four when none is named), each on its own port, for the production topology.
const args = process.argv.slice(2);
const seed = args.includes('--seed');
const names = args.filter((a) => a !== '--seed');
const unknown = names.filter((n) => !(serviceNames as readonly string[]).includes(n));
if (unknown.length) {
  process.stderr.write(`Unknown service ${unknown.join(', ')}: expected any of ${serviceNames.join(', ')}.\n`);
  process.exit(1);
}

const config = loadConfigOrExit();
if (!config.databaseUrl) {
  process.stderr.write('DATABASE_URL: required by `npm run services`: separate processes cannot share embedded PGlite, which belongs to one process. For everything in one process, use `npm start`.\n');
  process.exit(1);
}

const logger = createLogger({ level: config.logLevel, format: config.logFormat });
const database = await createDatabase({ url: config.databaseUrl });
const bus = await createBus({ redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, onError: (error) => logger.warn({ err: error }, 'event bus') });
const running = await startReferenceServices({
  database,
  bus,
  names: (names.length ? names : serviceNames) as ServiceName[],
  ports: config.servicePorts,
  host: config.host,
  seed,
  tombstoneRetentionDays: config.tombstoneRetentionDays,
  push: config.push,
  logger,
  otherUrls: config.services,
});
for (const [name, url] of Object.entries(running.urls)) logger.info({ service: name, url }, `${name} service listening`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void running
      .stop()
      .then(() => bus.close())
      .then(() => database.close())
      .then(() => process.exit(0));
  });
}
