import type { Config } from '../../src/config/loadConfig.js';
import { createInProcessBus } from '../../src/bus/index.js';
import { createDatabase, type Database } from '../../src/db/index.js';
import { serviceEnvName, serviceNames, type ServiceName } from '../../src/services/downstreamServices.js';
import { startReferenceServices, type ReferenceServices } from '../../src/services/startReferenceServices.js';
import { startFaultProxy, type FaultProxy } from './startFaultProxy.js';
import { seededSnapshot } from '../../src/system/seededSnapshot.js';
import type { SystemOptions } from '../../src/system/startSystem.js';
import { startTestSystem, type TestSystem } from './startTestSystem.js';
import { createTestDatabase } from './testDatabase.js';

export interface SystemBehindProxies {
  bff: TestSystem;
  /** The proxy in front of each service: inject faults, count the requests that reached it. */
  proxies: Record<ServiceName, FaultProxy>;
  /** Stops a service's Fastify app: its port refuses connections, as a crashed service's would. */
  kill(service: ServiceName): Promise<void>;
  /** Starts a killed service again, on the same port, with the same data. */
  revive(service: ServiceName): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The reference services, each on its own port with the demo data, a fault proxy in front of
 * each, and the BFF pointed at the proxies (`USERS_URL`, `CATALOG_URL`, ...). `env` is
 * the BFF's environment (deadlines, budget, breaker).
 */
export async function startSystemBehindProxies(env: Record<string, string> = {}, overrides: Partial<Config> = {}, options: Pick<SystemOptions, 'logger'> = {}): Promise<SystemBehindProxies> {
  const server = process.env.DATABASE_URL ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
  // Embedded: started from the seeded snapshot, as startSystem does (src/system/seededSnapshot.ts), so seeded already.
  const database: Database = await createDatabase({ url: server?.url, dataDir: 'memory://', initialData: server ? undefined : await seededSnapshot() });
  const bus = createInProcessBus();
  const running = {} as Record<ServiceName, ReferenceServices>;
  const ports = {} as Record<ServiceName, number>;
  const proxies = {} as Record<ServiceName, FaultProxy>;
  const alive = new Set<ServiceName>();
  const stopAllButBff = async () => {
    for (const proxy of Object.values(proxies)) await proxy.close();
    for (const name of alive) await running[name].stop();
    await bus.close();
    await database.close();
    await server?.drop();
  };
  let bff: TestSystem;
  try {
    for (const name of serviceNames) {
      running[name] = await startReferenceServices({ database, bus, names: [name], seed: Boolean(server) });
      alive.add(name);
      ports[name] = Number(new URL(running[name].urls[name]!).port);
    }
    for (const name of serviceNames) proxies[name] = await startFaultProxy(running[name].urls[name]!);
    const urlEnv = Object.fromEntries(serviceNames.map((name) => [serviceEnvName(name, 'URL'), proxies[name].url]));
    // The BFF's tables live in the services' database, as with `npm start`: one database to start, not two.
    // And the services' bus: the BFF hears their change notices (subscriptions, the response cache).
    bff = await startTestSystem({ ...urlEnv, ...env }, overrides, { ...options, database, bus });
  } catch (error) {
    // A start-up that failed half-way (e.g. timed out on a busy machine) leaves nothing running.
    await stopAllButBff();
    throw error;
  }

  return {
    bff,
    proxies,
    async kill(service) {
      await running[service].stop();
      alive.delete(service);
    },
    async revive(service) {
      running[service] = await startReferenceServices({ database, bus, names: [service], ports: { [service]: ports[service] } });
      alive.add(service);
    },
    async stop() {
      await bff.stop();
      await stopAllButBff();
    },
  };
}
