import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { writeManifests } from '../support/apolloManifest.js';
import { bearer, byHash, CATALOG_PAGE, MOBILE_OPERATIONS, ORDER_EVENTS, orderSyncToken, placeOrderByHash } from '../support/mobileOperations.js';
import { setOrderStatus } from '../support/orders.js';
import { openRawSocket, type RawSocket } from '../support/rawSocket.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The legacy `graphql-ws` subprotocol (subscriptions-transport-ws), which Apollo Kotlin 4's default
// WebSocketNetworkTransport speaks, beside graphql-transport-ws on the same path, in the
// production mode (PERSISTED_OPERATIONS=require).
let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'app-1.0.0.json': MOBILE_OPERATIONS });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require', WS_INIT_TIMEOUT_MS: '1500', WS_MAX_OPERATIONS: '3' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sockets: RawSocket[] = [];
const clients: SubscriptionClient[] = [];
afterEach(() => {
  sockets.splice(0).forEach((s) => s.close());
  clients.splice(0).forEach((c) => c.close());
});

/** A socket as Apollo Kotlin 4 opens it: `Sec-WebSocket-Protocol: graphql-ws`, then `connection_init`. */
async function kotlinSocket(payload?: Record<string, unknown>): Promise<RawSocket> {
  const socket = await openRawSocket(system.url, 'graphql-ws');
  sockets.push(socket);
  // Apollo Kotlin's SubscriptionWsProtocol leaves `payload` out when it has none.
  socket.send(payload ? { type: 'connection_init', payload } : { type: 'connection_init' });
  return socket;
}

/** The subscriptions-transport-ws client from npm. */
function legacyClient(connectionParams?: Record<string, unknown>): SubscriptionClient {
  const client = new SubscriptionClient(system.url.replace(/^http/, 'ws'), { connectionParams, reconnect: false }, WebSocket);
  clients.push(client);
  return client;
}

const user = () => `legacy-${randomUUID()}`;

describe('the handshake', () => {
  it('answers graphql-ws with that subprotocol, connection_ack and a keep-alive', async () => {
    const socket = await kotlinSocket();
    expect(socket.socket.protocol).toBe('graphql-ws');
    await socket.next((m) => m.type === 'ka');
    expect(socket.messages.slice(0, 2)).toEqual([{ type: 'connection_ack' }, { type: 'ka' }]);
  });

  it('gives graphql-transport-ws to a client that offers both', async () => {
    const socket = await openRawSocket(system.url, ['graphql-ws', 'graphql-transport-ws']);
    sockets.push(socket);
    expect(socket.socket.protocol).toBe('graphql-transport-ws');
  });

  it('answers a bad token with connection_error and closes with 4403', async () => {
    const socket = await kotlinSocket({ Authorization: 'Bearer not-a-token' });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Forbidden' });
    expect(socket.messages).toEqual([{ type: 'connection_error', payload: { message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } } }]);
  });

  it('closes with 4408 a socket that sends no connection_init', async () => {
    const socket = await openRawSocket(system.url, 'graphql-ws');
    sockets.push(socket);
    expect((await socket.closed).code).toBe(4408);
  });

  it('closes with 4401 a socket that starts an operation before connection_init', async () => {
    const socket = await openRawSocket(system.url, 'graphql-ws');
    sockets.push(socket);
    socket.send({ id: '1', type: 'start', payload: byHash(CATALOG_PAGE, { first: 1 }) });
    expect((await socket.closed).code).toBe(4401);
  });

  it('closes a live socket with 4403 when its token expires', async () => {
    const socket = await kotlinSocket({ Authorization: `Bearer ${await signDevToken({ sub: user(), expiresIn: '2s' })}` });
    await socket.next((m) => m.type === 'connection_ack');
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Token expired' });
  });
});

describe('operations as Apollo Kotlin 4 sends them (start with the hash, no query)', () => {
  it('runs a query: data, then complete', async () => {
    const socket = await kotlinSocket();
    const id = randomUUID();
    socket.send({ type: 'start', id, payload: byHash(CATALOG_PAGE, { first: 2 }) });
    await socket.next((m) => m.type === 'complete');
    const [data, complete] = socket.messages.filter((m) => m.id === id);
    expect(data).toEqual({ id, type: 'data', payload: { data: { products: { edges: [expect.anything(), expect.anything()], __typename: 'ProductConnection' } } } });
    expect(complete).toEqual({ id, type: 'complete' });
  });

  it("streams the viewer's order events from `since`, and stop ends them with complete", async () => {
    const alice = user();
    const number = await placeOrderByHash(system, alice);
    const since = await orderSyncToken(system, alice);
    const socket = await kotlinSocket({ Authorization: await bearer(alice) });
    const id = randomUUID();
    socket.send({ type: 'start', id, payload: byHash(ORDER_EVENTS, { since }) });
    await setOrderStatus(system, number, 'CONFIRMED');
    const event = await socket.next((m) => m.id === id && m.type === 'data');
    expect(event.payload.data.orderEvents.order).toEqual(expect.objectContaining({ number, status: 'CONFIRMED', __typename: 'Order' }));

    // Resuming from that event's token gets what changed after it, first.
    await setOrderStatus(system, number, 'SHIPPED');
    const resumed = randomUUID();
    socket.send({ type: 'start', id: resumed, payload: byHash(ORDER_EVENTS, { since: event.payload.data.orderEvents.syncToken }) });
    const caughtUp = await socket.next((m) => m.id === resumed && m.type === 'data');
    expect(caughtUp.payload.data.orderEvents.order.status).toBe('SHIPPED');

    const seen = socket.messages.length;
    socket.send({ type: 'stop', id });
    expect(await socket.next((m) => m.id === id && m.type === 'complete', { after: seen })).toEqual({ id, type: 'complete' });
    // The first subscription saw SHIPPED too: that event may still have been on its way when stop
    // was sent. Nothing else comes for it before its complete.
    const before = socket.messages.slice(seen).filter((m) => m.id === id && m.type !== 'complete');
    expect(before.length).toBeLessThanOrEqual(1);
    for (const m of before) expect(m).toMatchObject({ type: 'data', payload: { data: { orderEvents: { order: { number, status: 'SHIPPED' } } } } });
  });

  it('refuses text that is in no manifest with PERSISTED_QUERY_ID_REQUIRED (data with errors, then complete); the socket stays', async () => {
    const socket = await kotlinSocket();
    socket.send({ type: 'start', id: 'a', payload: { query: 'subscription { orderEvents { syncToken } }' } });
    socket.send({ type: 'start', id: 'b', payload: { query: '{ products(first: 1) { edges { node { name } } } }' } });
    await socket.next((m) => m.id === 'b' && m.type === 'complete');
    for (const id of ['a', 'b']) {
      expect(socket.messages.filter((m) => m.id === id)).toEqual([
        { id, type: 'data', payload: { errors: [{ message: expect.any(String), extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } }] } },
        { id, type: 'complete' },
      ]);
    }
    socket.send({ type: 'start', id: 'c', payload: byHash(CATALOG_PAGE, { first: 1 }) });
    await socket.next((m) => m.id === 'c' && m.type === 'complete');
  });

  it('refuses an unknown hash with PERSISTED_QUERY_NOT_IN_LIST and an anonymous subscription with UNAUTHENTICATED', async () => {
    const socket = await kotlinSocket();
    const unknown = 'c'.repeat(64);
    socket.send({ type: 'start', id: 'x', payload: { operationName: 'Gone', extensions: { persistedQuery: { version: 1, sha256Hash: unknown } } } });
    socket.send({ type: 'start', id: 'y', payload: byHash(ORDER_EVENTS) });
    const x = await socket.next((m) => m.id === 'x' && m.type === 'data');
    const y = await socket.next((m) => m.id === 'y' && m.type === 'data');
    expect(x.payload.errors).toEqual([{ message: `Persisted query '${unknown}' not found in the persisted query list`, extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }]);
    expect(y.payload.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
  });

  it('refuses one operation more than WS_MAX_OPERATIONS with RATE_LIMITED, and runs the others', async () => {
    const alice = user();
    const socket = await kotlinSocket({ Authorization: await bearer(alice) });
    for (const id of ['1', '2', '3', '4']) socket.send({ type: 'start', id, payload: byHash(ORDER_EVENTS) });
    const refused = await socket.next((m) => m.id === '4' && m.type === 'data');
    expect(refused.payload.errors).toEqual([expect.objectContaining({ extensions: { code: 'RATE_LIMITED' } })]);
    expect(socket.messages.filter((m) => ['1', '2', '3'].includes(m.id))).toEqual([]);
  });

  it('answers a message it cannot read with an error that has no id, and keeps the socket', async () => {
    const socket = await kotlinSocket();
    await socket.next((m) => m.type === 'connection_ack');
    socket.send('not json');
    socket.send({ type: 'subscribe', id: '1' });
    await socket.next((m) => m.type === 'error' && m.id === '1');
    expect(socket.messages.filter((m) => m.type === 'error')).toEqual([
      { type: 'error', payload: { message: expect.any(String) } },
      { id: '1', type: 'error', payload: { message: 'Unknown message type "subscribe".' } },
    ]);
    socket.send({ type: 'start', id: '2', payload: byHash(CATALOG_PAGE, { first: 1 }) });
    await socket.next((m) => m.id === '2' && m.type === 'complete');
  });
});

describe('the subscriptions-transport-ws client from npm', () => {
  it("receives the viewer's order status change on a subscription sent as manifest text", async () => {
    const bob = user();
    const number = await placeOrderByHash(system, bob);
    const since = await orderSyncToken(system, bob);
    const client = legacyClient({ authorization: await bearer(bob) });
    const event = new Promise<any>((resolve, reject) => {
      client.request({ query: ORDER_EVENTS.body, variables: { since } }).subscribe({ next: resolve, error: reject });
    });
    await setOrderStatus(system, number, 'CONFIRMED');
    const result = await event;
    expect(result.errors).toBeUndefined();
    expect(result.data.orderEvents.order).toEqual(expect.objectContaining({ number, status: 'CONFIRMED' }));
  });

  it('gets the refusal of text in no manifest as GraphQL errors, then complete', async () => {
    const client = legacyClient();
    const outcome = await new Promise<{ results: any[]; completed: boolean }>((resolve, reject) => {
      const results: any[] = [];
      client.request({ query: 'subscription { orderEvents { syncToken } }' }).subscribe({ next: (r) => void results.push(r), error: reject, complete: () => resolve({ results, completed: true }) });
    });
    expect(outcome.results).toEqual([{ errors: [expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })] }]);
  });
});
