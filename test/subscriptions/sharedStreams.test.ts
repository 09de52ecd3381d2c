import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { placeOrder, setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { collect } from '../support/wsClient.js';

// Long-lived subscriptions: each event is a new unit of work (fresh budget, fresh loaders), a
// completed subscription stops its stream at once, and identical subscriptions of one viewer
// share one stream: one feed read, one batch per resource and one execution per change.

const ORDER_EVENTS_TEXT = /* GraphQL */ `
  subscription($since: SyncToken) { orderEvents(since: $since) { order { number status lines { product { name } } } syncToken } }
`;
const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; name: string }[] };
const ORDER_EVENTS = manifest.operations.find((o) => o.name === 'OrderEvents')!;
const byHash = (variables: Record<string, unknown> = {}) => ({ query: '', operationName: ORDER_EVENTS.name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: ORDER_EVENTS.id } } });

const BUDGET_MS = 1_000;
let system: TestSystem;
const clients: Client[] = [];
beforeAll(async () => {
  // A short request budget: a subscription must outlive it.
  system = await startTestSystem({ REQUEST_BUDGET_MS: String(BUDGET_MS) });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  // Every stream of a test ends with its sockets: each test starts from none.
  await eventually(async () => (await streamsOpen()) === 0);
});
afterAll(() => system?.stop());

const place = (as: string, sku?: string) => placeOrder(system, as, sku);
const setStatus = (number: string, status: string) => setOrderStatus(system, number, status);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A graphql-ws client as Apollo Kotlin talks: hash-only subscribes carry no `query` key. */
async function connectAs(sub: string) {
  await system.gql('{ viewer { id } }', {}, { as: sub });
  const client = createClient({
    url: system.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${await signDevToken({ sub })}` },
    retryAttempts: 0,
    lazy: true,
    lazyCloseTimeout: 60_000,
    jsonMessageReplacer: (key, value) => (key === 'query' && value === '' ? undefined : value),
  });
  clients.push(client);
  return client;
}
async function streamsOpen(): Promise<number> {
  const text = await (await fetch(system.url.replace(/\/graphql$/, '/metrics'))).text();
  return Number(/^bff_subscription_streams\{field="orderEvents"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}
/** Subscribers of shared streams, as the BFF counts them. */
async function sharedSubscribers(): Promise<number> {
  const text = await (await fetch(system.url.replace(/\/graphql$/, '/metrics'))).text();
  return Number(/^bff_subscription_shared_subscribers (\S+)$/m.exec(text)?.[1] ?? 0);
}
/** How many times the orders service has served its change feed. */
const feedReads = async () => (await system.stats('orders'))['GET /orders/changes'] ?? 0;
/** Resolves once `streams` more streams have read where their feed stands: from then on every change is an event. */
const streaming = (readsBefore: number, streams = 1) => eventually(async () => (await feedReads()) >= readsBefore + streams, 30_000);
async function eventually(predicate: () => Promise<boolean>, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(25);
  }
}
const events = (s: { results: { data?: any }[] }) => s.results.map((r) => r.data?.orderEvents).filter(Boolean);

describe('a long-lived subscription', () => {
  it('still delivers events after the request budget has long passed, with products read afresh', async () => {
    const ivan = `ivan-${randomUUID()}`;
    const ivans = await connectAs(ivan);
    const reads = await feedReads();
    const sub = collect(ivans, { query: ORDER_EVENTS_TEXT });
    await streaming(reads);
    const number = await place(ivan, 'SKU-0005');
    await sub.until(() => events(sub).length === 1);
    const before = events(sub)[0].order.lines[0].product.name;

    // Well past the budget of the subscribe request, and with the product renamed meanwhile.
    await sleep(BUDGET_MS * 2);
    const renamed = `Renamed ${randomUUID().slice(0, 8)}`;
    const put = await fetch(`${system.serviceUrls.catalog}/products/SKU-0005`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: renamed, priceCents: 1234, currency: 'EUR' }) });
    expect(put.status).toBe(200);
    await setStatus(number, 'CONFIRMED');
    await sub.until(() => events(sub).length === 2);
    expect(events(sub)[1].order.status).toBe('CONFIRMED');
    expect(before).not.toBe(renamed);
    expect(events(sub)[1].order.lines[0].product.name).toBe(renamed);
  });

  it('stops its stream as soon as the client completes it, though no change ever comes', async () => {
    const judy = `judy-${randomUUID()}`;
    const open = await streamsOpen();
    const client = await connectAs(judy);
    const subs = [collect(client, { query: ORDER_EVENTS_TEXT }), collect(client, { query: ORDER_EVENTS_TEXT })];
    await eventually(async () => (await streamsOpen()) === open + 2);
    subs.forEach((s) => s.unsubscribe());
    await eventually(async () => (await streamsOpen()) === open);
  });
});

describe('identical subscriptions of one viewer (persisted, from now on)', () => {
  it('share one stream: one change costs one feed read, one call per resource, and reaches all', async () => {
    const kim = `kim-${randomUUID()}`;
    const open = await streamsOpen();
    const joined = await sharedSubscribers();
    const reads = await feedReads();
    const subs: ReturnType<typeof collect>[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await connectAs(kim);
      for (let j = 0; j < 4; j++) subs.push(collect(client, byHash()));
    }
    await eventually(async () => (await streamsOpen()) === open + 1);
    // All twelve are in the group, and its stream has read where the feed stands.
    await eventually(async () => (await sharedSubscribers()) === joined + 12 && (await feedReads()) > reads, 30_000);

    const number = await place(kim, 'SKU-0007');
    await Promise.all(subs.map((s) => s.until(() => events(s).length === 1)));
    const calls = await system.countCalls(async () => {
      await setStatus(number, 'CONFIRMED');
      await Promise.all(subs.map((s) => s.until(() => events(s).length === 2)));
    });
    // One change, twelve subscribers: one feed read, one users batch, one products batch.
    expect(calls.orders['GET /orders/changes']).toBe(1);
    expect(calls.users).toEqual({ 'GET /users?ids': 1 });
    expect(calls.catalog).toEqual({ 'GET /products?ids': 1 });
    const payloads = new Set(subs.map((s) => JSON.stringify(s.results)));
    expect(payloads.size).toBe(1);
    const event = events(subs[0]!)[1];
    expect(event.order).toMatchObject({ number, status: 'CONFIRMED' });
    expect(event.order.customer.name).toBe(kim);
    expect(event.order.lines[0].product.name).toEqual(expect.any(String));

    // Half of them leave: the others still receive; the last one out stops the stream.
    subs.slice(0, 6).forEach((s) => s.unsubscribe());
    await setStatus(number, 'SHIPPED');
    await Promise.all(subs.slice(6).map((s) => s.until(() => events(s).length === 3)));
    expect(subs.slice(0, 6).every((s) => events(s).length === 2)).toBe(true);
    subs.slice(6).forEach((s) => s.unsubscribe());
    await eventually(async () => (await streamsOpen()) === open);
  });

  it('lets a late subscriber join a running stream and receive the changes from then on', async () => {
    const lena = `lena-${randomUUID()}`;
    const lenas = await connectAs(lena);
    const reads = await feedReads();
    const first = collect(lenas, byHash());
    await streaming(reads);
    const a = await place(lena);
    await first.until(() => events(first).length === 1);
    const open = await streamsOpen();
    const joined = await sharedSubscribers();
    const late = collect(await connectAs(lena), byHash());
    // Joined the running stream: one more subscriber, no more streams.
    await eventually(async () => (await sharedSubscribers()) === joined + 1, 30_000);
    expect(await streamsOpen()).toBe(open);
    await setStatus(a, 'SHIPPED');
    await Promise.all([first.until(() => events(first).length === 2), late.until(() => events(late).length === 1)]);
    expect(events(late).map((e) => e.order.status)).toEqual(['SHIPPED']);
  });

  it('never shares between viewers, and a subscriber resuming from a token gets its own stream and its catch-up', async () => {
    const mia = `mia-${randomUUID()}`;
    const noah = `noah-${randomUUID()}`;
    const open = await streamsOpen();
    const [miaClient, noahClient] = [await connectAs(mia), await connectAs(noah)];
    const reads = await feedReads();
    const mias = collect(miaClient, byHash());
    const noahs = collect(noahClient, byHash());
    await eventually(async () => (await streamsOpen()) === open + 2);
    await streaming(reads, 2);
    const first = await place(mia);
    await mias.until(() => events(mias).length === 1);
    const token = events(mias)[0].syncToken;
    const second = await place(mia);
    await mias.until(() => events(mias).length === 2);

    // Resuming from the first event's token: its own stream, the change after the token, then live ones.
    const resumed = collect(await connectAs(mia), byHash({ since: token }));
    await resumed.until(() => events(resumed).length === 1);
    expect(await streamsOpen()).toBe(open + 3);
    expect(events(resumed)[0].order.number).toBe(second);
    await setStatus(first, 'CONFIRMED');
    await resumed.until(() => events(resumed).length === 2);
    expect(events(resumed)[1].order).toMatchObject({ number: first, status: 'CONFIRMED' });
    // Noah's own order as a marker: once it is there, any of Mia's would have been too.
    const his = await place(noah);
    await noahs.until(() => events(noahs).length >= 1);
    expect(events(noahs).map((e) => e.order.number)).toEqual([his]);
  });
});
