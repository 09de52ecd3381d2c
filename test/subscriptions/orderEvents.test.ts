import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { signDevToken } from '../../src/auth/index.js';
import { placeOrder, setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
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

describe('orderEvents over graphql-ws', () => {
  it('streams the viewer\'s order changes live, in order, each with its customer, products and a token', async () => {
    const alice = `alice-${randomUUID()}`;
    const sub = collect(await connectAs(alice), { query: ORDER_EVENTS });
    await new Promise((r) => setTimeout(r, 200));
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
    const first = collect(await connectAs(bob), { query: ORDER_EVENTS });
    await new Promise((r) => setTimeout(r, 200));
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
    await again.until(() => events(again).length >= 3);
    await new Promise((r) => setTimeout(r, 300));
    expect(events(again).map((e) => [e.order.number, e.order.status])).toEqual([
      [a, 'CONFIRMED'],
      [b, 'CANCELLED'],
      [a, 'SHIPPED'],
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
    const daves = collect(await connectAs(dave), { query: ORDER_EVENTS });
    const erins = collect(await connectAs(erin), { query: ORDER_EVENTS });
    await new Promise((r) => setTimeout(r, 200));
    const mine = await place(erin);
    await setStatus(mine, 'CONFIRMED');
    await erins.until(() => events(erins).length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(events(daves)).toEqual([]);
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
    const good = collect(client, { query: ORDER_EVENTS });
    await new Promise((r) => setTimeout(r, 200));
    await place(frank);
    await good.until(() => events(good).length === 1);
  });
});

describe('orderEvents over SSE', () => {
  it('streams events as text/event-stream through the same pipeline', async () => {
    const grace = `grace-${randomUUID()}`;
    await system.gql('{ viewer { id } }', {}, { as: grace });
    const controller = new AbortController();
    const response = await fetch(system.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub: grace })}` },
      body: JSON.stringify({ query: ORDER_EVENTS }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = response.body!.getReader();
    await new Promise((r) => setTimeout(r, 200));
    const number = await place(grace);
    let text = '';
    while (!text.includes(number)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/event: next/);
    expect(text).toContain('"status":"PENDING"');
  });
});

describe('a client that stops reading', () => {
  it('costs bounded memory while its orders change fast, and the others keep receiving', async () => {
    const { default: WebSocket } = await import('ws');
    const heidi = `heidi-${randomUUID()}`;
    await system.gql('{ viewer { id } }', {}, { as: heidi });
    const token = await signDevToken({ sub: heidi });
    // A raw socket that subscribes, then never reads again.
    const stuck = new WebSocket(system.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise<void>((resolve) => {
      stuck.on('open', () => stuck.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })));
      stuck.on('message', (m) => {
        if (String(m).includes('connection_ack')) {
          stuck.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: ORDER_EVENTS } }));
          setTimeout(() => {
            (stuck as unknown as { _socket: { pause(): void } })._socket.pause();
            resolve();
          }, 200);
        }
      });
    });
    try {
      const watcher = collect(await connectAs(heidi), { query: ORDER_EVENTS });
      await new Promise((r) => setTimeout(r, 200));
      const number = await place(heidi);
      const before = process.memoryUsage().rss;
      const statuses = ['CONFIRMED', 'PENDING'];
      for (let i = 0; i < 120; i++) await setStatus(number, statuses[i % 2]!);
      await setStatus(number, 'DELIVERED');
      await watcher.until(() => events(watcher).some((e) => e.order.status === 'DELIVERED'), 90_000);
      const grown = process.memoryUsage().rss - before;
      expect(grown).toBeLessThan(64 * 1024 * 1024);
    } finally {
      stuck.terminate();
    }
  }, 120_000);
});
