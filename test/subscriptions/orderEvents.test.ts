import { randomUUID } from 'node:crypto';
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
// The slow-reader test's events are big: 100 aliases of an order's lines (past the default limits).
const ALIASES = 100;
beforeAll(async () => {
  system = await startTestSystem({ MAX_ALIASES: String(ALIASES), MAX_TOKENS: '20000', MAX_QUERY_COST: '1000000' });
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
    // Both changes may reach Erin as one event in its latest state (the feed holds each order's
    // latest version): wait for the confirmed one, not for a count.
    await erins.until(() => events(erins).some((e) => e.order.number === mine && e.order.status === 'CONFIRMED'));
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
  // Its frames pile up on the BFF, not in the client: once more than WS_MAX_BUFFERED_BYTES (1 MiB,
  // the default) wait unsent on its socket, the transport's watchdog drops the socket, so a viewer
  // who stops reading costs bounded memory. Nothing else would on the legacy subprotocol
  // (subscriptions-transport-ws, Apollo Kotlin's default): its server sends each event without
  // waiting and only sends keep-alives, so that is where this client stops reading. (graphql-ws,
  // the modern one, writes a subscription's next event only once the last one is written, and
  // drops a client that misses a ping for 12 s; there the watchdog bounds the sum over a socket's
  // subscriptions.) The test fills the kernel's socket buffers first (a few MiB on loopback) with
  // big events (~700 KB: 100 aliases of an order's 50 lines), one change at a time, until the
  // socket's stream closes; without the watchdog it never closes and the test fails once it has
  // pushed MAX_PUSHED_BYTES. Reading again, the client gets what the kernel held, then an abnormal
  // closure (1006: dropped, no close frame; without the watchdog it would read every event and
  // stay open). A subscriber that reads, on graphql-transport-ws, keeps receiving throughout.
  const LINES = 50;
  const BIG = `subscription { orderEvents { order { number status ${Array.from({ length: ALIASES }, (_, i) => `l${i}: lines { quantity product { sku name description } }`).join(' ')} } } }`;
  // More than a socket buffers in the kernel (here at most 32 MiB received + 4 MiB sent: tcp_rmem, tcp_wmem).
  const MAX_PUSHED_BYTES = 64 * 1024 * 1024;

  /** `bff_subscription_streams{field="orderEvents"}` from the BFF's /metrics: subscription streams open. */
  async function openStreams() {
    const text = await (await fetch(system.bff.metricsUrl)).text();
    return Number(/^bff_subscription_streams\{field="orderEvents"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  it('is dropped once its unsent events pass the bound, while the others keep receiving', async () => {
    const { default: WebSocket } = await import('ws');
    const heidi = `heidi-${randomUUID()}`;
    const lines = Array.from({ length: LINES }, (_, i) => ({ productId: productId(`SKU-${String(i + 1).padStart(4, '0')}`), quantity: 1 }));
    const placed = await system.gql(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code message } } }`, { input: { idempotencyKey: randomUUID(), lines } }, { as: heidi });
    expect(placed.body.data.placeOrder.userErrors).toEqual([]);
    const number: string = placed.body.data.placeOrder.order.number;
    const token = await signDevToken({ sub: heidi });
    // The other tests' streams are gone (their clients were disposed): from here on, the count is ours.
    await waitUntil(async () => (await openStreams()) === 0, { what: "the earlier tests' subscription streams to close" });

    // A raw legacy-protocol socket that subscribes, reads until its subscription delivers, then stops reading.
    const stuck = new WebSocket(system.url.replace(/^http/, 'ws'), 'graphql-ws');
    const stuckSocket = () => (stuck as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    let stuckEvents = 0;
    let stuckError: string | undefined;
    const stuckClosed = new Promise<number>((resolve) => stuck.on('close', (code) => resolve(code)));
    stuck.on('open', () => {
      stuck.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
      stuck.send(JSON.stringify({ id: '1', type: 'start', payload: { query: BIG } }));
    });
    stuck.on('message', (m) => {
      const message = JSON.parse(String(m)) as { type: string; payload?: { errors?: unknown } };
      if (message.type === 'error' || message.type === 'connection_error' || message.payload?.errors) stuckError = JSON.stringify(message.payload);
      else if (message.type === 'data' && ++stuckEvents === 1) stuckSocket().pause();
    });
    try {
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
        return stuckEvents > 0 && events(watcher).length > 0;
      }, { intervalMs: 100, what: 'both subscriptions to deliver' });
      expect(await openStreams()).toBe(2);
      const eventBytes = JSON.stringify(events(watcher)[0]).length;
      expect(eventBytes).toBeGreaterThan(500_000);
      watcher.results.splice(0);

      // One change at a time, each delivered to the watcher (changes faster than a stream reads
      // would merge into one event), until the stuck socket's stream is closed.
      let pushed = 0;
      let sent = 0;
      while ((await openStreams()) === 2) {
        if (pushed > MAX_PUSHED_BYTES) throw new Error(`the stuck socket is still open after ${sent} events (${Math.round(pushed / 2 ** 20)} MiB) it did not read`);
        const status = await change();
        await watcher.until(() => events(watcher).at(-1)?.order.status === status, 60_000);
        watcher.results.splice(0);
        pushed += eventBytes;
        sent += 1;
      }
      // The one left open is the watcher's, and it still receives.
      await setStatus(number, 'DELIVERED');
      await watcher.until(() => events(watcher).some((e) => e.order.status === 'DELIVERED'), 60_000);

      // Reading again, the stuck client gets what the kernel held for it, then the end of a
      // connection dropped without a close frame.
      stuckSocket().resume();
      expect(await stuckClosed).toBe(1006);
    } finally {
      stuck.terminate();
    }
  }, 300_000);
});
