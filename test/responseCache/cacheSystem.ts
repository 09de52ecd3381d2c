import { signDevToken } from '../../src/auth/index.js';
import { createBff, type Bff } from '../../src/bff/createBff.js';
import { createInProcessBus, createRedisBus, type Bus, type BusMessage } from '../../src/bus/index.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { createDatabase, type Database } from '../../src/db/index.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { serviceNames, type ServiceName } from '../../src/services/downstreamServices.js';
import { startReferenceServices, type ReferenceServices } from '../../src/services/startReferenceServices.js';
import { byHash } from '../support/firstParty.js';
import { startFaultProxy, type FaultProxy, type ReceivedRequest } from '../support/startFaultProxy.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { seededSnapshot } from '../../src/system/seededSnapshot.js';

export interface CacheSystemOptions {
  /** The BFFs' environment (RESPONSE_CACHE_*, …). */
  env?: Record<string, string>;
  /** How many BFF instances. @default 1 */
  instances?: number;
  /** A Redis for the bus and the cache (scale-out); unset: one in-process bus, the cache in each process. */
  redisUrl?: string;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, any> }[]; extensions?: Record<string, any> } | null;
}

/**
 * The reference services behind counting proxies, and BFF instances with the response cache
 * pointed at the proxies, all on one bus the test controls: the services publish through
 * `dropNotices`, so that a test can lose notices on purpose. With `redisUrl`, services and every
 * BFF each have their own Redis bus connection, and the BFFs share the cache in Redis.
 */
export async function startCacheSystem({ env = {}, instances = 1, redisUrl }: CacheSystemOptions = {}) {
  const server = process.env.DATABASE_URL ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
  // Embedded: started from the seeded snapshot, as startSystem does (src/system/seededSnapshot.ts), so seeded already.
  const database: Database = await createDatabase({ url: server?.url, dataDir: 'memory://', initialData: server ? undefined : await seededSnapshot() });
  const logger = createLogger({ level: 'silent', format: 'json' });
  const sharedBus = redisUrl ? undefined : createInProcessBus();
  const newBus = async (): Promise<Bus> => (redisUrl ? createRedisBus({ url: redisUrl, prefix: `cache-test` }) : sharedBus!);
  const buses: Bus[] = [];
  let dropping: ((message: BusMessage) => boolean) | undefined;
  const published: BusMessage[] = [];
  const realServicesBus = await newBus();
  buses.push(realServicesBus);
  const servicesBus: Bus = {
    ...realServicesBus,
    async publish(message) {
      published.push(message);
      if (dropping?.(message)) return;
      await realServicesBus.publish(message);
    },
  };
  const running = {} as Record<ServiceName, ReferenceServices>;
  const ports = {} as Record<ServiceName, number>;
  const proxies = {} as Record<ServiceName, FaultProxy>;
  const alive = new Set<ServiceName>();
  const bffs: Bff[] = [];
  const stop = async () => {
    for (const bff of bffs) await bff.stop();
    for (const proxy of Object.values(proxies)) await proxy.close();
    for (const name of alive) await running[name].stop();
    for (const bus of new Set(buses)) await bus.close();
    await database.close();
    await server?.drop();
  };
  try {
    for (const name of serviceNames) {
      running[name] = await startReferenceServices({ database, bus: servicesBus, names: [name], seed: Boolean(server) });
      alive.add(name);
      ports[name] = Number(new URL(running[name].urls[name]!).port);
      proxies[name] = await startFaultProxy(running[name].urls[name]!);
    }
    const config = {
      ...loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        DATA_DIR: 'memory://',
        LOG_LEVEL: 'silent',
        RATE_LIMIT_PER_SECOND: '0',
        OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
        ...env,
      }),
    };
    const serviceUrls = Object.fromEntries(serviceNames.map((name) => [name, proxies[name].url])) as Record<ServiceName, string>;
    for (let i = 0; i < instances; i++) {
      const bus = await newBus();
      buses.push(bus);
      const bff = createBff({ config, database, serviceUrls, bus, logger });
      bffs.push(bff);
      await bff.start({ port: 0, host: '127.0.0.1' });
    }
  } catch (error) {
    await stop();
    throw error;
  }

  /** One persisted operation by hash, over real HTTP; `as` signs a dev token for that user. */
  async function request(name: string, variables: Record<string, unknown> = {}, { as, instance = 0, method = 'POST', headers = {} }: { as?: string; instance?: number; method?: 'GET' | 'POST'; headers?: Record<string, string> } = {}): Promise<Answer> {
    const auth: Record<string, string> = as ? { authorization: `Bearer ${await signDevToken({ sub: as })}` } : {};
    const params = byHash(name, variables);
    const url = bffs[instance]!.url;
    const response =
      method === 'GET'
        ? await fetch(`${url}?operationName=${name}&variables=${encodeURIComponent(JSON.stringify(variables))}&extensions=${encodeURIComponent(JSON.stringify(params.extensions))}`, {
            headers: { ...auth, 'apollo-require-preflight': 'true', ...headers },
          })
        : await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body: JSON.stringify(params) });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
  }

  /** The requests that reached `service` while `fn` ran. */
  async function callsTo<T>(service: ServiceName, fn: () => Promise<T>): Promise<{ result: T; calls: ReceivedRequest[] }> {
    const before = proxies[service].received.length;
    const result = await fn();
    return { result, calls: proxies[service].received.slice(before) };
  }

  /** A counter of the first BFF's registry, summed over the series matching `labels`. */
  async function metric(name: string, labels: Record<string, string> = {}, instance = 0): Promise<number> {
    const found = await bffs[instance]!.metrics.registry.getSingleMetric(name)?.get();
    return (found?.values ?? []).filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value)).reduce((n, v) => n + v.value, 0);
  }

  return {
    bffs,
    proxies,
    published,
    request,
    callsTo,
    metric,
    /** The catalog service's own URL (through its proxy). */
    serviceUrl: (service: ServiceName) => proxies[service].url,
    /** Publishes a change notice as a service would. */
    notify: (message: BusMessage) => realServicesBus.publish(message),
    /** Places an order for `userId` on the orders service; resolves with its number. */
    async placeOrder(userId: string, sku = 'SKU-0002') {
      const response = await fetch(`${running.orders.urls.orders}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId, currency: 'EUR', lines: [{ sku, quantity: 1, unitPriceCents: 500 }] }),
      });
      if (response.status !== 201) throw new Error(`POST /orders: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { order: { number: string } }).order.number;
    },
    /** Changes an order's status on the orders service, as the fulfilment side does. */
    async setOrderStatus(number: string, status: string) {
      const response = await fetch(`${running.orders.urls.orders}/orders/${number}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
      if (response.status !== 200) throw new Error(`POST /orders/${number}/status: ${response.status}`);
    },
    /** From now on, the services' notices matching `predicate` are not published (lost). */
    dropNotices(predicate: ((message: BusMessage) => boolean) | undefined) {
      dropping = predicate;
    },
    async renameProduct(sku: string, name: string) {
      const response = await fetch(`${running.catalog.urls.catalog}/products/${sku}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, priceCents: 1234, currency: 'EUR' }),
      });
      if (response.status !== 200 && response.status !== 201) throw new Error(`PUT /products/${sku}: ${response.status} ${await response.text()}`);
    },
    async kill(service: ServiceName) {
      await running[service].stop();
      alive.delete(service);
    },
    async revive(service: ServiceName) {
      running[service] = await startReferenceServices({ database, bus: servicesBus, names: [service], ports: { [service]: ports[service] } });
      alive.add(service);
    },
    stop,
  };
}

export type CacheSystem = Awaited<ReturnType<typeof startCacheSystem>>;
