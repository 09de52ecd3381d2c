import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Client } from 'graphql-ws';
import { signDevToken } from '../../src/auth/index.js';
import { placeOrder, productId, setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { waitUntil } from '../support/waitUntil.js';
import { collect, wsClient } from '../support/wsClient.js';

const ORDER_EVENTS = /* GraphQL */ `
  subscription($since: SyncToken) { orderEvents(since: $since) { order { number status customer { name } lines { product { sku } } } syncToken } }
`;

let system: TestSystem;
const clients: Client[] = [];
beforeAll(async () => {
  system = await startTestSystem();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
afterAll(() => system?.stop());

const place = (as: string, sku?: string) => placeOrder(system, as, sku);
const setStatus = (number: string, status: string) => setOrderStatus(system, number, status);
async function connectAs(sub: string) {
  await system.gql('{ viewer { id } }', {}, { as: sub }); // the profile exists from the first request on
  const client = wsClient(system.url, { Authorization: `Bearer ${await signDevToken({ sub })}` });
  clients.push(client);
  return client;
}
const events = (s: { results: { data?: any }[] }) => s.results.map((r) => r.data?.orderEvents).filter(Boolean);

/** How many times the orders service has served its change feed. */
const feedReads = async () => (await system.stats('orders'))['GET /orders/changes'] ?? 0;
/**
 * Resolves once `viewers` more subscriptions have read where their feed stands (a new stream's
 * first read): from then on every change is an event for them. A readiness signal, not a sleep.
 */
async function streaming(readsBefore: number, viewers = 1) {
  await waitUntil(async () => (await feedReads()) >= readsBefore + viewers, { what: `${viewers} subscription(s) to read their feed` });
}

describe('orderEvents over graphql-ws', () => {
  it('streams the viewer\'s order changes live, in order, each with its customer, products and a token', async () => {
    const alice = `alice-${randomUUID()}`;
    const client = await connectAs(alice);
    const reads = await feedReads();
    const sub = collect(client, { query: ORDER_EVENTS });
    await streaming(reads);
    // One change at a time: changes made faster than the stream reads arrive as the latest state.
    const number = await place(alice);
    await sub.until(() => events(sub).length >= 1);
    await setStatus(number, 'CONFIRMED');
    await sub.until(() => events(sub).length >= 2);
    await setStatus(number, 'SHIPPED');
    await sub.until(() => events(sub).length >= 3);
    expect(events(sub).map((e) => [e.order.number, e.order.status])).toEqual([
      [number, 'PENDING'],
      [number, 'CONFIRMED'],
      [number, 'SHIPPED'],
    ]);
    expect(events(sub)[0].order.customer.name).toBe(alice);
    expect(events(sub)[0].order.lines[0].product.sku).toBe('SKU-0003');
    expect(new Set(events(sub).map((e) => e.syncToken)).size).toBe(3);
  });
});

describe('resuming with a token', () => {
  it('delivers every order changed while disconnected once, in its latest state, then live ones', async () => {
    const bob = `bob-${randomUUID()}`;
    const bobs = await connectAs(bob);
    const reads = await feedReads();
    const first = collect(bobs, { query: ORDER_EVENTS });
    await streaming(reads);
    const a = await place(bob);
    await first.until(() => events(first).length === 1);
    const token = events(first)[0].syncToken;
    first.unsubscribe();
    await Promise.all(clients.splice(0).map((c) => c.dispose()));

    // While the phone is in a tunnel:
    await setStatus(a, 'CONFIRMED');
    const b = await place(bob);
    await setStatus(b, 'CANCELLED');

    // The feed holds each order's latest version: b, placed and cancelled meanwhile, comes once, cancelled.
    const again = collect(await connectAs(bob), { query: ORDER_EVENTS, variables: { since: token } });
    await again.until(() => events(again).length >= 2);
    await setStatus(a, 'SHIPPED');
    // A new order as a marker: once it is there, anything delivered twice would be before it.
    const c = await place(bob);
    await again.until(() => events(again).some((e) => e.order.number === c));
    expect(events(again).map((e) => [e.order.number, e.order.status])).toEqual([
      [a, 'CONFIRMED'],
      [b, 'CANCELLED'],
      [a, 'SHIPPED'],
      [c, 'PENDING'],
    ]);
  });

  it('continues from a token of orderChanges too', async () => {
    const carol = `carol-${randomUUID()}`;
    await place(carol);
    const { body } = await system.gql('{ viewer { orderChanges { syncToken } } }', {}, { as: carol });
    const token = body.data.viewer.orderChanges.syncToken;
    const later = await place(carol);
    const sub = collect(await connectAs(carol), { query: ORDER_EVENTS, variables: { since: token } });
    await sub.until(() => events(sub).length >= 1);
    expect(events(sub).map((e) => e.order.number)).toEqual([later]);
  });
});

describe('who gets what', () => {
  it("never delivers another user's order events", async () => {
    const dave = `dave-${randomUUID()}`;
    const erin = `erin-${randomUUID()}`;
    const [daveClient, erinClient] = [await connectAs(dave), await connectAs(erin)];
    const reads = await feedReads();
    const daves = collect(daveClient, { query: ORDER_EVENTS });
    const erins = collect(erinClient, { query: ORDER_EVENTS });
    await streaming(reads, 2);
    const mine = await place(erin);
    await setStatus(mine, 'CONFIRMED');
    await erins.until(() => events(erins).length >= 2);
    // Dave's own order, placed after Erin's changes, as a marker: once it is there, Erin's would be too.
    const his = await place(dave);
    await daves.until(() => events(daves).length >= 1);
    expect(events(daves).map((e) => e.order.number)).toEqual([his]);
  });

  it('refuses an anonymous subscription with UNAUTHENTICATED, as an error for that operation', async () => {
    const client = wsClient(system.url);
    clients.push(client);
    const sub = collect(client, { query: ORDER_EVENTS });
    await expect(sub.until(() => false, 5_000)).rejects.toThrow(/UNAUTHENTICATED/);
  });

  it('refuses a garbled token with INVALID_SYNC_TOKEN, and the socket stays usable', async () => {
    const frank = `frank-${randomUUID()}`;
    const client = await connectAs(frank);
    const bad = collect(client, { query: ORDER_EVENTS, variables: { since: 'garbage' } });
    await expect(bad.until(() => false, 5_000)).rejects.toThrow(/INVALID_SYNC_TOKEN/);
    const reads = await feedReads();
    const good = collect(client, { query: ORDER_EVENTS });
    await streaming(reads);
    await place(frank);
    await good.until(() => events(good).length === 1);
  });
});

describe('orderEvents over SSE', () => {
  it('streams events as text/event-stream through the same pipeline', async () => {
    const grace = `grace-${randomUUID()}`;
    await system.gql('{ viewer { id } }', {}, { as: grace });
    const controller = new AbortController();
    const reads = await feedReads();
    const response = await fetch(system.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub: grace })}` },
      body: JSON.stringify({ query: ORDER_EVENTS }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    await streaming(reads);
    const number = await place(grace);
    let text = '';
    while (!text.includes(number)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/event: next/);
    expect(text).toContain('"status":"PENDING"');
  });
});

describe('a client that stops reading', () => {
  // Its frames pile up on the BFF, not in the client: past WS_MAX_BUFFERED_BYTES (1 MiB, the
  // default) the transport drops its socket. To be able to fail, the test pushes far more than
  // the bound and what the kernel's socket buffers absorb (a few MiB on loopback): ~48 MiB of
  // events, each ~140 KB (20 aliases of an order's 50 lines). Kept, they would be ~40 MiB of
  // frames queued in this process (where the BFF runs); dropped, the growth stays near the bound.
  // What is measured is live memory after a full garbage collection (heap and buffers), not RSS,
  // which the garbage of 48 MiB of events moves by more than the bound.
  const LINES = 50;
  const BIG = `subscription { orderEvents { order { number status ${Array.from({ length: 20 }, (_, i) => `l${i}: lines { quantity product { sku name description } }`).join(' ')} } } }`;
  const PUSHED_BYTES = 48 * 1024 * 1024;
  const BOUND_BYTES = 16 * 1024 * 1024;
  /** Bytes still reachable in this process: the JavaScript heap and buffers, after a full GC. */
  function liveBytes() {
    v8.setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  }

  it('costs bounded memory while its orders change fast, and the others keep receiving', async () => {
    const { default: WebSocket } = await import('ws');
    const heidi = `heidi-${randomUUID()}`;
    const lines = Array.from({ length: LINES }, (_, i) => ({ productId: productId(`SKU-${String(i + 1).padStart(4, '0')}`), quantity: 1 }));
    const placed = await system.gql(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code message } } }`, { input: { idempotencyKey: randomUUID(), lines } }, { as: heidi });
    expect(placed.body.data.placeOrder.userErrors).toEqual([]);
    const number: string = placed.body.data.placeOrder.order.number;
    const token = await signDevToken({ sub: heidi });

    // A raw socket that subscribes, reads until its subscription delivers, then never reads again.
    const stuck = new WebSocket(system.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    let stuckDelivered = false;
    let stuckError: string | undefined;
    stuck.on('open', () => stuck.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })));
    stuck.on('message', (m) => {
      const message = JSON.parse(String(m)) as { type: string; payload?: unknown };
      if (message.type === 'connection_ack') stuck.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: BIG } }));
      else if (message.type === 'next' && !stuckDelivered) {
        stuckDelivered = true;
        (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
      } else if (message.type === 'error') stuckError = JSON.stringify(message.payload);
    });
    try {
      // The same subscription, read: the two share one stream, as a viewer's two devices would.
      const watcher = collect(await connectAs(heidi), { query: BIG });
      const statuses = ['CONFIRMED', 'PENDING'];
      let changes = 0;
      const change = async () => {
        const status = statuses[changes++ % 2]!;
        await setStatus(number, status);
        return status;
      };
      // Both are subscribed once both have had an event.
      await waitUntil(async () => {
        if (stuckError) throw new Error(`the stuck socket's subscription failed: ${stuckError}`);
        await change();
        return stuckDelivered && events(watcher).length > 0;
      }, { intervalMs: 100, what: 'both subscriptions to deliver' });
      const eventBytes = JSON.stringify(events(watcher)[0]).length;
      expect(eventBytes).toBeGreaterThan(100_000);
      // The watcher keeps only its latest event: what this process holds is the BFF's doing.
      watcher.results.splice(0);

      const before = liveBytes();
      for (let sent = 0; sent < PUSHED_BYTES; sent += eventBytes) {
        // One change at a time, each delivered: changes faster than the stream reads would merge.
        const status = await change();
        await watcher.until(() => events(watcher).at(-1)?.order.status === status, 60_000);
        watcher.results.splice(0);
      }
      await setStatus(number, 'DELIVERED');
      await watcher.until(() => events(watcher).some((e) => e.order.status === 'DELIVERED'), 90_000);
      const grown = liveBytes() - before;
      expect(grown).toBeLessThan(BOUND_BYTES);
    } finally {
      stuck.terminate();
    }
  }, 300_000);
});
