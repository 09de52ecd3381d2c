import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { signDevToken } from '../../src/auth/index.js';
import { buildProject } from '../support/buildProject.js';
import { startPrivateRedis } from '../support/privateRedis.js';
import { freePort, startNode, startServicesProcess, type RunningProcess } from '../support/processes.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { waitUntil } from '../support/waitUntil.js';
import { collect, wsClient } from '../support/wsClient.js';

// Scale-out (design.md §7): two BFF processes and the services process sharing PostgreSQL and
// Redis. Redis is the test's own, so that it can be restarted without disturbing other tests.
const withServer = process.env.DATABASE_URL ? describe : describe.skip;

withServer('subscriptions across instances through Redis', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let services: RunningProcess;
  const bffs: RunningProcess[] = [];
  const urls: string[] = [];
  const clients: Client[] = [];
  let ordersUrl: string;

  beforeAll(async () => {
    await buildProject();
    database = await createTestDatabase(process.env.DATABASE_URL!);
    redis = await startPrivateRedis();
    const shared = { DATABASE_URL: database.url, REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
    const started = await startServicesProcess({ ...shared, LOG_LEVEL: 'info' });
    services = started.services;
    ordersUrl = started.urls.orders;
    for (let i = 0; i < 2; i++) {
      const bff = startNode('dist/src/main.js', [], {
        ...shared,
        PORT: String(await freePort()),
        ...started.serviceEnv,
        RATE_LIMIT_PER_SECOND: '0',
        SUBSCRIPTION_RESYNC_MS: '0',
      });
      bffs.push(bff);
      urls.push((await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/))[1]!);
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(bffs.map((b) => b.stop()));
    await services?.stop();
    await redis?.stop();
    await database?.drop();
  });

  const EVENTS = 'subscription { orderEvents { order { number status } syncToken } }';
  const productId = Buffer.from('1:Product:SKU-0005').toString('base64url');

  async function gql(url: string, query: string, variables: Record<string, unknown>, sub: string) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await signDevToken({ sub })}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: any[] };
  }

  /** How many times the orders service has served its change feed. */
  const feedReads = async () => (((await (await fetch(`${ordersUrl}/stats`)).json()) as { requests: Record<string, number> }).requests['GET /orders/changes'] ?? 0);

  async function subscribeOn(url: string, sub: string) {
    await gql(url, '{ viewer { id } }', {}, sub);
    const client = wsClient(url, { Authorization: `Bearer ${await signDevToken({ sub })}` });
    clients.push(client);
    const reads = await feedReads();
    const stream = collect(client, { query: EVENTS });
    // Subscribed once its stream has read where the feed stands: from then on every change is an event.
    await waitUntil(async () => (await feedReads()) > reads, { what: 'the subscription to read its feed' });
    return stream;
  }
  const numbers = (s: { results: { data?: any }[] }) => new Set(s.results.map((r) => r.data?.orderEvents?.order.number).filter(Boolean));

  it('delivers to a subscriber on instance B an order placed through instance A', async () => {
    const alice = `alice-${randomUUID()}`;
    const onB = await subscribeOn(urls[1]!, alice);
    const placed = await gql(urls[0]!, 'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } } }', { input: { idempotencyKey: randomUUID(), lines: [{ productId, quantity: 1 }] } }, alice);
    const number = placed.data.placeOrder.order.number;
    await onB.until(() => numbers(onB).has(number), 15_000);
  }, 30_000);

  it('ends with every change when Redis restarts in the middle of a stream of changes', async () => {
    const bob = `bob-${randomUUID()}`;
    const onB = await subscribeOn(urls[1]!, bob);
    const placed: string[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 6) await redis.restart();
      const response = await fetch(`${ordersUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: bob, currency: 'EUR', lines: [{ sku: 'SKU-0005', quantity: 1, unitPriceCents: 100 }] }),
      });
      placed.push(((await response.json()) as { order: { number: string } }).order.number);
    }
    await onB.until(() => placed.every((n) => numbers(onB).has(n)), 30_000);
    expect(onB.results.filter((r) => r.data).length).toBe(12);
  }, 60_000);
});
