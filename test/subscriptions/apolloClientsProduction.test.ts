import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import WebSocket from 'ws';
import { writeManifests } from '../support/apolloManifest.js';
import { bearer, byHash, MOBILE_OPERATIONS, ORDER_EVENTS, orderSyncToken, placeOrderByHash } from '../support/mobileOperations.js';
import { multipartRequest, type MultipartStream } from '../support/multipartRequest.js';
import { setOrderStatus } from '../support/orders.js';
import { openRawSocket, type RawSocket } from '../support/rawSocket.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Issue 14, "must show": in the production mode (NODE_ENV=production, PERSISTED_OPERATIONS=require)
// each way Apollo's clients subscribe receives an order's status change, driven by the orders
// service (POST /orders/{number}/status); text that is in no manifest is refused on each.
// Delivery is asserted; the latency from the status change to the event is printed, not asserted.
// The production switches run in process, as in test/bff/production.test.ts (the identity provider
// and database that loadConfig demands for NODE_ENV=production are the e2e tests' concern).
const UNLISTED = 'subscription Sneaky { orderEvents { syncToken order { number status customer { email } } } }';

let dir: string;
let system: TestSystem;
const latencies: Record<string, number> = {};
beforeAll(async () => {
  dir = writeManifests({ 'shop-ios-1.0.0.json': MOBILE_OPERATIONS });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  if (Object.keys(latencies).length) console.log(`status change → event (ms): ${JSON.stringify(latencies)}`);
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** A user with one order, and where their order feed stands after it. */
async function userWithOrder() {
  const sub = `prod-${randomUUID()}`;
  const number = await placeOrderByHash(system, sub);
  return { sub, number, since: await orderSyncToken(system, sub), authorization: await bearer(sub) };
}

/** Changes the order's status on the orders service and waits for `received`; records the latency under `name`. */
async function statusChangeReaches(name: string, number: string, received: () => Promise<{ number: string; status: string }>) {
  const event = received();
  const started = performance.now();
  await setOrderStatus(system, number, 'SHIPPED');
  const order = await event;
  latencies[name] = Math.round(performance.now() - started);
  expect(order).toEqual(expect.objectContaining({ number, status: 'SHIPPED' }));
}

function graphqlWsClient(authorization: string): Client {
  const client = createClient({ url: system.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { Authorization: authorization }, retryAttempts: 0, lazy: true });
  cleanups.push(() => client.dispose());
  return client;
}

/** The first result of a graphql-ws subscription, or the error that ended it. */
const firstOf = (client: Client, payload: { query: string; operationName?: string; variables?: Record<string, unknown> }) =>
  new Promise<any>((resolve, reject) => {
    const stop = client.subscribe(payload, { next: (r) => (resolve(r), stop()), error: reject, complete: () => reject(new Error('completed without a result')) });
  });

describe('Apollo iOS over WebSocket (graphql-transport-ws): the subscription as full text', () => {
  it("receives the order's status change", async () => {
    const { number, since, authorization } = await userWithOrder();
    const client = graphqlWsClient(authorization);
    await statusChangeReaches('ios-graphql-transport-ws-text', number, async () => {
      const result = await firstOf(client, { operationName: 'OrderEvents', query: ORDER_EVENTS.body, variables: { since } });
      return result.data.orderEvents.order;
    });
  });

  it('is refused PERSISTED_QUERY_ID_REQUIRED for text in no manifest', async () => {
    const { authorization } = await userWithOrder();
    await expect(firstOf(graphqlWsClient(authorization), { query: UNLISTED })).rejects.toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });
});

describe('Apollo iOS over the legacy graphql-ws subprotocol (the subscriptions-transport-ws client): full text', () => {
  const legacyFirst = async (authorization: string, query: string, variables?: Record<string, unknown>) => {
    const client = new SubscriptionClient(system.url.replace(/^http/, 'ws'), { connectionParams: { Authorization: authorization }, reconnect: false }, WebSocket);
    cleanups.push(() => client.close());
    return new Promise<any>((resolve, reject) => client.request({ query, variables }).subscribe({ next: resolve, error: reject }));
  };

  it("receives the order's status change", async () => {
    const { number, since, authorization } = await userWithOrder();
    await statusChangeReaches('ios-legacy-graphql-ws-text', number, async () => (await legacyFirst(authorization, ORDER_EVENTS.body, { since })).data.orderEvents.order);
  });

  it('is refused PERSISTED_QUERY_ID_REQUIRED for text in no manifest', async () => {
    const { authorization } = await userWithOrder();
    expect((await legacyFirst(authorization, UNLISTED)).errors).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });
});

describe('Apollo iOS over multipart HTTP: full text', () => {
  const IOS_ACCEPT = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json';
  const open = async (authorization: string, body: unknown): Promise<MultipartStream> => {
    const stream = await multipartRequest(system.url, { headers: { 'content-type': 'application/json', accept: IOS_ACCEPT, authorization }, body: JSON.stringify(body) });
    cleanups.push(() => stream.close());
    return stream;
  };
  /** The payload of the first part that has one, read as Apollo iOS does: split on the delimiter, then on the blank line. */
  const firstPayload = (text: string) =>
    text
      .split('\r\n--graphql')
      .slice(1, -1)
      .map((chunk) => JSON.parse(chunk.split('\r\n\r\n')[1]!))
      .find((part) => part.payload)?.payload;

  it("receives the order's status change", async () => {
    const { number, since, authorization } = await userWithOrder();
    await statusChangeReaches('ios-multipart-text', number, async () => {
      const stream = await open(authorization, { operationName: 'OrderEvents', query: ORDER_EVENTS.body, variables: { since } });
      return firstPayload(await stream.until((t) => firstPayload(t) !== undefined)).data.orderEvents.order;
    });
  });

  it('is refused PERSISTED_QUERY_ID_REQUIRED for text in no manifest', async () => {
    const { authorization } = await userWithOrder();
    const stream = await open(authorization, { query: UNLISTED });
    expect(stream.status).toBe(400);
    expect(JSON.parse(await stream.ended).errors).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });
});

describe("Apollo Kotlin 4's default WebSocketNetworkTransport: the legacy graphql-ws subprotocol, by hash", () => {
  const kotlinSocket = async (authorization: string): Promise<RawSocket> => {
    // What SubscriptionWsProtocol sends: Sec-WebSocket-Protocol graphql-ws, connection_init with
    // the app's connectionPayload, then `start` with the request parameters and no `query`.
    const socket = await openRawSocket(system.url, 'graphql-ws');
    cleanups.push(() => socket.close());
    socket.send({ type: 'connection_init', payload: { Authorization: authorization } });
    return socket;
  };

  it("receives the order's status change", async () => {
    const { number, since, authorization } = await userWithOrder();
    const socket = await kotlinSocket(authorization);
    const id = randomUUID();
    await statusChangeReaches('kotlin4-legacy-graphql-ws-hash', number, async () => {
      socket.send({ type: 'start', id, payload: { ...byHash(ORDER_EVENTS, { since }), extensions: { ...byHash(ORDER_EVENTS).extensions, clientLibrary: { name: 'apollo-kotlin', version: '4.4.0' } } } });
      return (await socket.next((m) => m.id === id && m.type === 'data')).payload.data.orderEvents.order;
    });
  });

  it('is refused PERSISTED_QUERY_ID_REQUIRED for text in no manifest', async () => {
    const { authorization } = await userWithOrder();
    const socket = await kotlinSocket(authorization);
    socket.send({ type: 'start', id: 'text', payload: { operationName: 'Sneaky', query: UNLISTED } });
    const refusal = await socket.next((m) => m.id === 'text');
    expect(refusal.payload.errors).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });
});
