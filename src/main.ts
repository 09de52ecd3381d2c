import { signDevToken } from './auth/index.js';
import { ManifestError } from './bff/persisted/index.js';
import { loadConfigOrExit } from './config/loadConfig.js';
import { createLogger } from './logging/createLogger.js';
import { serviceNames } from './services/downstreamServices.js';
import { startSystem } from './system/startSystem.js';

// `npm start`: the BFF, plus in-process reference services for every *_URL that is unset.
const config = loadConfigOrExit();

const logger = createLogger({ level: config.logLevel, format: config.logFormat });
const embedded = serviceNames.some((name) => !config.services[name]);
if (!config.databaseUrl && Object.values(config.services).some(Boolean)) {
  logger.warn('DATABASE_URL is unset: the BFF uses its own embedded PGlite. The production topology (services and BFF as separate processes, several BFF replicas) needs DATABASE_URL.');
}

let system: Awaited<ReturnType<typeof startSystem>> | undefined;
// Ship or retire an app release without a restart: the manifest folder is also watched, SIGHUP
// reloads it at once (e.g. where file events do not arrive, as on some network file systems).
// Listened to from the start: SIGHUP's default action would end the process.
process.on('SIGHUP', () => {
  if (!system) return logger.info('SIGHUP while starting: the manifests being loaded are the current ones');
  logger.info('SIGHUP: reloading the persisted-operation manifests');
  system.bff.reloadPersistedOperations();
});
try {
  system = await startSystem({ config, logger, seed: embedded });
} catch (error) {
  if (error instanceof ManifestError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
const lines = [`mobile-bff is ready (${config.nodeEnv}, ${config.databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}, ${embedded ? 'reference services in process' : 'external services'}).`];
for (const name of serviceNames) {
  lines.push(`  ${`${name} service:`.padEnd(16)} ${system.serviceUrls[name]}${config.services[name] ? '' : '  (in process)'}`);
}
if (config.nodeEnv === 'production') {
  lines.push(`  GraphQL: ${system.url}`, `  Metrics: ${system.bff.metricsUrl}`);
} else {
  const token = await signDevToken({ sub: 'demo', expiresIn: '24h' });
  lines.push(`  GraphiQL: ${system.url}  (open it in a browser; the demo user's token is already filled in)`);
  lines.push(`  Dev bearer token (sub=demo, 24 h; another: npm run token -- --sub <id>):`, `  Authorization: Bearer ${token}`);
}
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    system.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  });
}
