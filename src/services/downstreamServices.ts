/** One downstream service the BFF calls. */
export interface DownstreamServiceSpec {
  /** Port of its reference implementation under `npm run services` (`<NAME>_PORT` overrides it). */
  defaultPort: number;
}

/**
 * THE registry of downstream services: everything per service derives from it — the environment
 * variables `<NAME>_URL`, `<NAME>_PORT` and `<NAME>_TIMEOUT_MS` (src/config/loadConfig.ts), the
 * downstream client's base URLs, deadlines and circuit breakers and its `service` metric label
 * (src/bff/downstream/), the service keys resolvers and loaders call, and which services start
 * in-process or under `npm run services` (src/system/startSystem.ts, src/services/main.ts).
 * Adding a service is one entry here plus its schema, resolvers and contract (and, if it has a
 * reference implementation to run in development, its entry in src/services/referenceServices.ts):
 * see docs/adding-a-service.md. Data only: the config reads it without loading any service's code.
 */
export const downstreamServices = {
  users: { defaultPort: 4001 },
  catalog: { defaultPort: 4002 },
  orders: { defaultPort: 4003 },
  notifications: { defaultPort: 4004 },
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
