import { signDevToken } from '../../src/auth/index.js';
import { loadConfig, type Config } from '../../src/config/loadConfig.js';
import { serviceNames, type ServiceName } from '../../src/services/downstreamServices.js';
import { createDatabase } from '../../src/db/index.js';
import { seededSnapshot } from '../../src/system/seededSnapshot.js';
import { startSystem, type System, type SystemOptions } from '../../src/system/startSystem.js';
import { createTestDatabase } from './testDatabase.js';

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[] };
}

export interface TestSystem extends System {
  /** POSTs a GraphQL request over real HTTP; `token: 'demo'` signs a dev token for that user. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: { as?: string; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>;
  /** A service's request counters (`GET /stats`). */
  stats(service: ServiceName): Promise<Record<string, number>>;
  /** How many requests each route of each service received while `fn` ran. */
  countCalls(fn: () => Promise<unknown>): Promise<Record<ServiceName, Record<string, number>>>;
}

/**
 * The whole system as `npm start` runs it (BFF + reference services over real HTTP), on free
 * ports, with in-memory PGlite, or with a throwaway database on the server when `DATABASE_URL`
 * is set. `env` overrides the environment the config is read from; `overrides` the parsed config
 * (e.g. production mode without the database server that `loadConfig` demands for it).
 */
export async function startTestSystem(env: Record<string, string> = {}, overrides: Partial<Config> = {}, options: Pick<SystemOptions, 'bffPlugins' | 'logger' | 'database' | 'bus'> = {}): Promise<TestSystem> {
  // A database of the caller's (`options.database`) is the caller's to create and drop.
  const database = process.env.DATABASE_URL && !options.database ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
  const loaded = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: 'memory://',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // Every test talks from 127.0.0.1 as fast as it can: no rate limit unless a test sets one.
    RATE_LIMIT_PER_SECOND: '0',
    // Nor load shedding: on a busy machine (CI, a laptop running other suites) the event loop lags
    // past the threshold and the BFF would refuse the tests' own requests with 503. Load shedding
    // is tested on its own, in test/bff/loadShedding.test.ts, which sets its threshold explicitly.
    OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const config = { ...loaded, ...overrides };
  // An embedded system with some services elsewhere (e.g. CATALOG_URL pointing at nothing) gets no
  // seeded snapshot from startSystem, which keeps that for a whole system in process; it would
  // run initdb (seconds of WebAssembly). Here it starts from the snapshot too: the services in
  // process migrate and seed on top of it (no-ops), beside tables of the others that nothing reads.
  const partial = !config.databaseUrl && config.dataDir === 'memory://' && !options.database && serviceNames.some((name) => config.services[name]);
  const embedded = partial ? await createDatabase({ dataDir: 'memory://', initialData: await seededSnapshot() }) : undefined;
  let system: System;
  try {
    system = await startSystem({ config, ...options, ...(embedded ? { database: embedded } : {}) });
  } catch (error) {
    await embedded?.close();
    await database?.drop();
    throw error;
  }
  const stats = async (service: ServiceName): Promise<Record<string, number>> => {
    const response = await fetch(`${system.serviceUrls[service]}/stats`);
    return ((await response.json()) as { requests: Record<string, number> }).requests;
  };
  return {
    ...system,
    async gql(query, variables, { as, headers = {} } = {}) {
      const response = await fetch(system.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(as ? { authorization: `Bearer ${await signDevToken({ sub: as })}` } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse['body'] };
    },
    stats,
    async countCalls(fn) {
      const names = serviceNames;
      const before = await Promise.all(names.map(stats));
      await fn();
      const after = await Promise.all(names.map(stats));
      return Object.fromEntries(
        names.map((name, i) => {
          const diff: Record<string, number> = {};
          for (const [route, n] of Object.entries(after[i]!)) {
            const d = n - (before[i]![route] ?? 0);
            if (d) diff[route] = d;
          }
          return [name, diff];
        }),
      ) as Record<ServiceName, Record<string, number>>;
    },
    async stop() {
      await system.stop();
      await embedded?.close();
      await database?.drop();
    },
  };
}
