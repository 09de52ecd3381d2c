import pg from 'pg';
import { createInProcessBus, createPostgresBus, createRedisBus, type Bus, type BusMessage } from '../../src/bus/index.js';
import { startPrivateRedis } from '../support/privateRedis.js';

const waitFor = async (predicate: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('in-process bus', () => {
  it('delivers a message to the subscribers of its topic only, never inside the publisher\'s call', async () => {
    const bus = createInProcessBus();
    const orders: BusMessage[] = [];
    const products: BusMessage[] = [];
    bus.subscribe('orders', (m) => void orders.push(m));
    bus.subscribe('products', (m) => void products.push(m));
    const published = bus.publish({ topic: 'orders', userId: 'u1', number: 'n1' });
    expect(orders).toEqual([]);
    await published;
    await waitFor(() => orders.length === 1);
    expect(products).toEqual([]);
  });

  it('keeps delivering to other subscribers when one throws, and stops after unsubscribe', async () => {
    const bus = createInProcessBus();
    const got: string[] = [];
    bus.subscribe('users', () => {
      throw new Error('boom');
    });
    const stop = bus.subscribe('users', (m) => void got.push(m.userId));
    await bus.publish({ topic: 'users', userId: 'a' });
    await waitFor(() => got.length === 1);
    stop();
    await bus.publish({ topic: 'users', userId: 'b' });
    await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(['a']);
  });
});

const withRedis = process.env.REDIS_URL ? describe : describe.skip;
withRedis('Redis bus (two instances, as two processes would have)', () => {
  const buses: Bus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('carries a message published on one instance to the subscribers of another', async () => {
    const prefix = `test-${Date.now()}`;
    const a = await createRedisBus({ url: process.env.REDIS_URL!, prefix });
    const b = await createRedisBus({ url: process.env.REDIS_URL!, prefix });
    buses.push(a, b);
    const got: BusMessage[] = [];
    b.subscribe('orders', (m) => void got.push(m));
    // Published until the subscription is in place (Redis drops what is published before).
    await waitFor(() => {
      void a.publish({ topic: 'orders', userId: 'u1', number: '42' });
      return got.length > 0;
    });
    expect(got[0]).toEqual({ topic: 'orders', userId: 'u1', number: '42' });
  });

  it('keeps deployments with different prefixes apart', async () => {
    const two = `two-${Date.now()}`;
    const a = await createRedisBus({ url: process.env.REDIS_URL!, prefix: `one-${Date.now()}` });
    const b = await createRedisBus({ url: process.env.REDIS_URL!, prefix: two });
    const twin = await createRedisBus({ url: process.env.REDIS_URL!, prefix: two });
    buses.push(a, b, twin);
    const got: BusMessage[] = [];
    b.subscribe('orders', (m) => void got.push(m));
    // Subscribed once a message of its own deployment arrives.
    await waitFor(() => {
      void twin.publish({ topic: 'orders', userId: 'u1', number: 'ready' });
      return got.length > 0;
    });
    await a.publish({ topic: 'orders', userId: 'u1', number: '1' });
    // A marker published after it on b's own deployment: once it is there, the other would be too.
    await twin.publish({ topic: 'orders', userId: 'u1', number: 'marker' });
    await waitFor(() => got.some((m) => m.topic === 'orders' && m.number === 'marker'));
    expect(got.filter((m) => m.topic === 'orders' && m.number === '1')).toEqual([]);
  });

  it('says messages may have been missed when Redis comes back after an outage, and delivers again after it', async () => {
    const redis = await startPrivateRedis();
    try {
      const a = await createRedisBus({ url: redis.url });
      const b = await createRedisBus({ url: redis.url });
      buses.push(a, b);
      let missed = 0;
      const got: string[] = [];
      b.onMissedMessages(() => void missed++);
      b.subscribe('orders', (m) => void got.push(m.number));
      await new Promise((r) => setTimeout(r, 50));
      await redis.restart();
      await a.publish({ topic: 'orders', userId: 'u', number: 'lost-or-not' });
      await waitFor(() => missed === 1, 10_000);
      await waitFor(() => {
        void a.publish({ topic: 'orders', userId: 'u', number: 'after' });
        return got.includes('after');
      }, 10_000);
    } finally {
      await redis.stop();
    }
  }, 30_000);

  it('refuses to start, naming REDIS_URL, when Redis cannot be reached', async () => {
    await expect(createRedisBus({ url: 'redis://127.0.0.1:1' })).rejects.toThrow(/REDIS_URL: cannot connect/);
  });
});

const withPostgres = process.env.DATABASE_URL ? describe : describe.skip;
withPostgres('PostgreSQL LISTEN/NOTIFY bus', () => {
  it('carries messages between two instances and says messages may have been missed after its connection drops', async () => {
    const channel = `test_bus_${Date.now()}`;
    const a = await createPostgresBus({ url: process.env.DATABASE_URL!, channel });
    const b = await createPostgresBus({ url: process.env.DATABASE_URL!, channel });
    try {
      const got: string[] = [];
      let missed = 0;
      b.onMissedMessages(() => void missed++);
      b.subscribe('products', (m) => void got.push(m.sku));
      await a.publish({ topic: 'products', sku: 'SKU-1' });
      await waitFor(() => got.includes('SKU-1'));
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE $1 AND pid <> pg_backend_pid()`, [`LISTEN "${channel}"%`]);
      await admin.end();
      await waitFor(() => missed === 1, 10_000);
      await a.publish({ topic: 'products', sku: 'SKU-2' });
      await waitFor(() => got.includes('SKU-2'));
    } finally {
      await a.close();
      await b.close();
    }
  }, 30_000);
});
