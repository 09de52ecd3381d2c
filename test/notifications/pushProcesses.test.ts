import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createBus } from '../../src/bus/index.js';
import type { Bus } from '../../src/bus/index.js';
import { createDatabase, selectRows, type Database } from '../../src/db/index.js';
import { startReferenceServices, type ReferenceServices } from '../../src/services/startReferenceServices.js';
import { buildProject } from '../support/buildProject.js';
import { startPrivateRedis } from '../support/privateRedis.js';
import { freePort, startNode, type RunningProcess } from '../support/processes.js';
import { startPushDoubles, type PushDoubles } from '../support/pushStandIns.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { waitUntil } from '../support/waitUntil.js';

// The sender as its own process (`npm run services -- notifications`) on PostgreSQL, following an
// orders service in this process: SIGKILL mid-burst, two instances at once, Redis gone.

const withServer = process.env.DATABASE_URL ? describe : describe.skip;
const hex = (bytes = 32) => randomBytes(bytes).toString('hex');

withServer('push delivery across crashes, instances and a Redis outage', () => {
  let testDb: Awaited<ReturnType<typeof createTestDatabase>>;
  let database: Database;
  let bus: Bus;
  let orders: ReferenceServices;
  let doubles: PushDoubles;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  const running = new Set<RunningProcess>();

  beforeAll(async () => {
    await buildProject();
    testDb = await createTestDatabase(process.env.DATABASE_URL!);
    redis = await startPrivateRedis();
    database = await createDatabase({ url: testDb.url });
    bus = await createBus({ redisUrl: redis.url, databaseUrl: testDb.url, onError: () => {} });
    orders = await startReferenceServices({ database, bus, names: ['orders', 'notifications'] });
    doubles = await startPushDoubles();
  }, 200_000);
  afterAll(async () => {
    for (const p of running) await p.stop('SIGKILL');
    await orders?.stop();
    await bus?.close();
    await database?.close();
    await doubles?.close();
    await redis?.stop();
    await testDb?.drop();
  }, 60_000);

  /** A notifications service process sending to the doubles. */
  async function startSender(extra: Record<string, string> = {}) {
    const port = await freePort();
    const p = startNode('dist/src/services/main.js', ['notifications'], {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      DATABASE_URL: testDb.url,
      REDIS_URL: redis.url,
      ORDERS_URL: orders.urls.orders!,
      NOTIFICATIONS_PORT: String(port),
      PUSH_POLL_INTERVAL_MS: '300',
      ...doubles.env,
      ...extra,
    });
    running.add(p);
    await p.waitFor(/notifications service listening/);
    return p;
  }

  async function register(userId: string, platform: 'IOS' | 'ANDROID', token: string) {
    const response = await fetch(`${orders.urls.notifications}/devices/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId, installationId: `${platform}-${token.slice(0, 8)}`, platform, token }),
    });
    expect(response.ok).toBe(true);
  }

  async function changeOrders(userId: string, n: number): Promise<string[]> {
    const numbers: string[] = [];
    for (let i = 0; i < n; i++) {
      const placed = await fetch(`${orders.urls.orders}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId, currency: 'EUR', lines: [{ sku: 'SKU-0001', quantity: 1, unitPriceCents: 100 }] }),
      });
      const { order } = (await placed.json()) as { order: { number: string } };
      const status = await fetch(`${orders.urls.orders}/orders/${order.number}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'SHIPPED' }) });
      expect(status.ok).toBe(true);
      numbers.push(order.number);
    }
    return numbers;
  }

  /** Until the user has nothing left to send: a repeat comes only from a row not yet marked sent. */
  const drained = (user: string) =>
    waitUntil(
      async () => (await selectRows<{ n: number }>(database.db, sql`SELECT count(*)::int AS n FROM notifications.push_outbox WHERE user_id = ${user} AND sent_at IS NULL AND failed_reason IS NULL`))[0]!.n === 0,
      { what: 'the outbox to be drained', timeoutMs: 60_000 },
    );

  const alertsTo = (token: string) => doubles.received().filter((p) => p.token === token && p.kind === 'alert');
  const orderOf = (p: { platform: string; body: any }) => (p.platform === 'IOS' ? p.body.orderId : p.body.message.data.orderId) as string;
  const gid = (number: string) => Buffer.from(`1:Order:${number}`).toString('base64url');

  /** Every order has exactly one alert push id per token; returns how many deliveries repeated an id. */
  function expectOneAlertPerChange(tokens: string[], numbers: string[]) {
    let repeats = 0;
    for (const token of tokens) {
      const alerts = alertsTo(token);
      const ids = new Map<string, string>();
      for (const a of alerts) {
        if (ids.has(a.pushId)) repeats++;
        ids.set(a.pushId, orderOf(a));
      }
      expect([...ids.values()].sort()).toEqual(numbers.map(gid).sort());
    }
    return repeats;
  }

  test('SIGKILL of the sender in the middle of a burst, then a restart: every change pushed, each with one push id', async () => {
    const user = `kill-${hex(4)}`;
    const ios = hex();
    const android = `fcm:${hex(40)}`;
    await register(user, 'IOS', ios);
    await register(user, 'ANDROID', android);
    // A short send deadline, hence a short lease (3×): a push in flight at the SIGKILL goes again
    // after 6 s rather than 30. (One instance at a time here: a lease that runs out while its own
    // lane still sends cannot make another instance send the same push.)
    const fast = { PUSH_SEND_TIMEOUT_MS: '2000' };
    let sender = await startSender(fast);
    // The consumer starts at the feed's head: wait until it stands (a first change is pushed).
    const [first] = await changeOrders(user, 1);
    await waitUntil(() => alertsTo(ios).length >= 1, { what: 'the first alert' });
    const burst = changeOrders(user, 30);
    await waitUntil(() => alertsTo(ios).length + alertsTo(android).length >= 12, { what: 'part of the burst' });
    await sender.stop('SIGKILL');
    running.delete(sender);
    const numbers = [first!, ...(await burst)];
    sender = await startSender(fast);
    await waitUntil(() => new Set(alertsTo(ios).map((a) => a.pushId)).size === numbers.length && new Set(alertsTo(android).map((a) => a.pushId)).size === numbers.length, {
      what: 'every alert after the restart',
      timeoutMs: 90_000,
    });
    // Until nothing of this user's is left to send: a repeat comes only from a row not yet marked
    // sent, so by then every repeat there will be has arrived.
    await drained(user);
    const all = numbers;
    // Every change pushed: one alert push id per (token, change), and the distinct ids are exactly as many as the changes.
    expectOneAlertPerChange([ios, android], all);
    for (const token of [ios, android]) expect(new Set(alertsTo(token).map((a) => a.pushId)).size).toBe(all.length);
    // A repeat is a delivery whose push id arrived before: the same push, sent again. Only a push in
    // flight at the kill can be one (accepted, not yet marked): at most one per platform lane.
    const repeatsOf = (platform: 'IOS' | 'ANDROID') => {
      const pushes = doubles.received().filter((p) => p.token === (platform === 'IOS' ? ios : android));
      return pushes.length - new Set(pushes.map((p) => p.pushId)).size;
    };
    const repeats = { IOS: repeatsOf('IOS'), ANDROID: repeatsOf('ANDROID') };
    process.stderr.write(`push: deliveries repeated after SIGKILL (each with its original push id): APNs ${repeats.IOS}, FCM ${repeats.ANDROID}\n`);
    expect(repeats.IOS).toBeLessThanOrEqual(1);
    expect(repeats.ANDROID).toBeLessThanOrEqual(1);
    await sender.stop('SIGTERM');
    running.delete(sender);
  }, 180_000);

  test('two instances on one PostgreSQL: every change pushed once, no push id twice', async () => {
    const user = `two-${hex(4)}`;
    const ios = hex();
    const android = `fcm:${hex(40)}`;
    await register(user, 'IOS', ios);
    await register(user, 'ANDROID', android);
    const a = await startSender();
    const b = await startSender();
    const numbers = await changeOrders(user, 25);
    await waitUntil(() => alertsTo(ios).length >= numbers.length && alertsTo(android).length >= numbers.length, { what: 'every alert', timeoutMs: 90_000 });
    // Until nothing of this user's is left to send, so anything sent twice has arrived by now.
    await drained(user);
    const pushes = doubles.received().filter((p) => p.token === ios || p.token === android);
    const twice = pushes.filter((p, i) => pushes.findIndex((q) => q.pushId === p.pushId) !== i);
    if (twice.length) process.stderr.write(`push: sent twice by two instances: ${JSON.stringify(twice.map((p) => [p.platform, p.kind, p.pushId]))}\n`);
    expect(twice).toEqual([]);
    expect(expectOneAlertPerChange([ios, android], numbers)).toBe(0);
    for (const p of [a, b]) {
      await p.stop('SIGTERM');
      running.delete(p);
    }
  }, 180_000);

  test('Redis stopped: pushes still go (the consumer reads the feed on its timer)', async () => {
    const user = `redis-${hex(4)}`;
    const ios = hex();
    await register(user, 'IOS', ios);
    const log = (m: string) => process.stderr.write(`[redis test] ${m}\n`);
    const sender = await startSender({ PUSH_POLL_INTERVAL_MS: '500' });
    await redis.stop();
    try {
      const numbers = await changeOrders(user, 3);
      await waitUntil(() => alertsTo(ios).length === numbers.length, { what: 'the alerts without Redis', timeoutMs: 20_000 }).catch(async (error: Error) => {
        log(sender.output().split('\n').filter((l) => !l.includes('event bus')).join('\n').slice(-4000));
        log(JSON.stringify(await database.db.execute(sql`SELECT * FROM notifications.feed_positions`)));
        log(JSON.stringify(await database.db.execute(sql`SELECT push_id, kind, sent_at, failed_reason, due_at, leased_until, attempts FROM notifications.push_outbox WHERE user_id = ${user}`)));
        log(JSON.stringify(await (await fetch(`${orders.urls.orders}/orders/feed?limit=5`)).json()).slice(0, 1500));
        throw new Error(`${error.message}; sender output:\n${sender.output().slice(-3000)}`);
      });
      expect(expectOneAlertPerChange([ios], numbers)).toBe(0);
    } finally {
      await redis.restart();
      await sender.stop('SIGTERM');
      running.delete(sender);
    }
  }, 120_000);

  test('push_consumer_lag_seconds at /metrics: the age of the oldest change not yet consumed, growing while the consumer is held, 0 once it has caught up', async () => {
    const user = `lag-${hex(4)}`;
    const ios = hex();
    await register(user, 'IOS', ios);
    const port = await freePort();
    const sender = await startSender({ NOTIFICATIONS_PORT: String(port) });
    const lag = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^push_consumer_lag_seconds (\S+)$/m.exec(text)?.[1]);
    };
    try {
      const [first] = await changeOrders(user, 1);
      await waitUntil(() => alertsTo(ios).some((p) => orderOf(p) === gid(first!)), { what: 'the first alert' });
      await waitUntil(async () => (await lag()) === 0, { what: 'a lag of 0 once caught up' });
      // Hold the consumer: its position table stays locked against writes, so it cannot move past
      // the next changes. A table lock, not a row lock: that would give this transaction an id, and
      // the feed (commit-safe) would then hold back every later change until it ends.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = database.db.transaction(async (tx) => {
        await tx.execute(sql`LOCK TABLE notifications.feed_positions IN EXCLUSIVE MODE`);
        locked();
        await released;
      });
      await isLocked;
      let numbers: string[] = [];
      try {
        numbers = await changeOrders(user, 2);
        await waitUntil(async () => (await lag()) > 0, { what: 'a lag above 0 while the consumer is held' });
        const seen = await lag();
        await waitUntil(async () => (await lag()) >= seen + 1, { what: 'the lag to grow by a second while the consumer is held' });
        expect(alertsTo(ios).filter((p) => numbers.map(gid).includes(orderOf(p)))).toEqual([]);
      } finally {
        release();
        await holder;
      }
      await waitUntil(() => numbers.every((n) => alertsTo(ios).some((p) => orderOf(p) === gid(n))), { what: 'the held changes pushed' });
      await waitUntil(async () => (await lag()) === 0, { what: 'a lag of 0 after catching up' });
    } finally {
      await sender.stop('SIGTERM');
      running.delete(sender);
    }
  }, 120_000);
});
