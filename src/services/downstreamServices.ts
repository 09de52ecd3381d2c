import type { FastifyInstance } from 'fastify';
import type { Bus } from '../bus/index.js';
import type { Database } from '../db/index.js';

/** What a reference implementation's factory gets. */
export interface ReferenceServiceOptions {
  database: Database;
  bus: Bus;
  /** How long a change feed keeps the tombstones of deleted rows, in days. */
  tombstoneRetentionDays: number;
}

/** A reference implementation, created but not yet listening. */
export interface ReferenceService {
  name: string;
  app: FastifyInstance;
  /** Creates or upgrades its own schema. */
  migrate(): Promise<unknown>;
  /** Present when it keeps a change feed: deletes tombstones past their retention (run hourly) and says how many. */
  purgeTombstones?(): Promise<number>;
}

export type ReferenceServiceFactory = (options: ReferenceServiceOptions) => ReferenceService;

/** One downstream service the BFF calls. */
export interface DownstreamServiceSpec {
  /** Port of its reference implementation under `npm run services` (`<NAME>_PORT` overrides it). */
  defaultPort: number;
  /**
   * Its reference implementation, started in-process by `npm start` when `<NAME>_URL` is unset.
   * Loaded lazily, so the config and the BFF do not load the services' code. Without one,
   * `<NAME>_URL` is required.
   */
  reference?: () => Promise<ReferenceServiceFactory>;
}

/**
 * THE registry of downstream services: everything per service derives from it — the environment
 * variables `<NAME>_URL`, `<NAME>_PORT` and `<NAME>_TIMEOUT_MS` (src/config/loadConfig.ts), the
 * downstream client's base URLs, deadlines and circuit breakers and its `service` metric label
 * (src/bff/downstream/), the service keys resolvers and loaders call, and which services start
 * in-process or under `npm run services` (src/system/startSystem.ts, src/services/main.ts).
 * Adding a service is one entry here plus its schema, resolvers and contract: see
 * docs/adding-a-service.md.
 */
export const downstreamServices = {
  users: { defaultPort: 4001, reference: async () => (await import('./users/createUsersService.js')).createUsersService },
  catalog: { defaultPort: 4002, reference: async () => (await import('./catalog/createCatalogService.js')).createCatalogService },
  orders: { defaultPort: 4003, reference: async () => (await import('./orders/createOrdersService.js')).createOrdersService },
} as const satisfies Record<string, DownstreamServiceSpec>;

/** A registry: the application's (`downstreamServices`), or one with more services in a test. */
export type DownstreamServices<S extends string = string> = Readonly<Record<S, DownstreamServiceSpec>>;

export type ServiceName = keyof typeof downstreamServices;

/** The registered services, in registry order. */
export const serviceNames = Object.keys(downstreamServices) as ServiceName[];

/** The environment variable of a service's setting: `users`, `URL` → `USERS_URL`; `order-history` → `ORDER_HISTORY_URL`. */
export function serviceEnvName(service: string, setting: 'URL' | 'PORT' | 'TIMEOUT_MS'): string {
  return `${service.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_${setting}`;
}
