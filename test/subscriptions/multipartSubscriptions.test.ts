import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { signDevToken } from '../../src/auth/index.js';
import { writeManifests } from '../support/apolloManifest.js';
import { iosV1Parts, iosV2Parts, kotlinParts } from '../support/apolloMultipart.js';
import { bearer, byHash, MOBILE_OPERATIONS, ORDER_EVENTS, orderSyncToken, placeOrderByHash } from '../support/mobileOperations.js';
import { multipartRequest, type MultipartStream } from '../support/multipartRequest.js';
import { setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Subscriptions over multipart HTTP, Apollo's protocol (subscriptionSpec=1.0), byte for byte as
// Apollo Kotlin's multipart reader and Apollo iOS's MultipartResponseSubscriptionParser read them,
// in the production mode (PERSISTED_OPERATIONS=require).
const KOTLIN_ACCEPT = 'multipart/mixed;subscriptionSpec=1.0, application/graphql-response+json, application/json';
const IOS_ACCEPT = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json';
const QUOTED_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0", application/json';

const CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0';
const OPENING = '\r\n--graphql';
const part = (json: string) => `\r\nContent-Type: application/json\r\n\r\n${json}\r\n--graphql`;
const HEARTBEAT = part('{}');
const END = '--';

let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'app-1.0.0.json': MOBILE_OPERATIONS });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const streams: MultipartStream[] = [];
afterEach(() => streams.splice(0).forEach((s) => s.close()));

async function subscribe(init: { method?: string; headers?: Record<string, string>; body?: string }, path = '') {
  const stream = await multipartRequest(`${system.url}${path}`, init);
  streams.push(stream);
  return stream;
}
const post = (accept: string, body: unknown, authorization?: string) =>
  subscribe({ headers: { 'content-type': 'application/json', accept, ...(authorization ? { authorization } : {}) }, body: JSON.stringify(body) });

/** The event parts after the opening heartbeat, parsed; each must be exactly a part as Apollo's clients read it. */
function eventParts(text: string): any[] {
  expect(text.startsWith(`${OPENING}${HEARTBEAT}`)).toBe(true);
  const parts = text.slice(OPENING.length).split('\r\n--graphql').slice(0, -1);
  return parts
    .map((p) => {
      expect(p.startsWith('\r\nContent-Type: application/json\r\n\r\n')).toBe(true);
      const json = p.slice('\r\nContent-Type: application/json\r\n\r\n'.length);
      expect(part(JSON.stringify(JSON.parse(json)))).toBe(`${p}\r\n--graphql`);
      return JSON.parse(json);
    })
    .filter((p) => Object.keys(p).length > 0);
}

const user = () => `multipart-${randomUUID()}`;

/** The parts of a whole body as Apollo iOS 1.x and 2.x and Apollo Kotlin cut it: all three must agree. */
function asEveryClientReadsIt(body: string): unknown[] {
  const parts = kotlinParts(body, 'graphql');
  expect(iosV1Parts(body, 'graphql', 'subscriptionSpec')).toEqual(parts);
  expect(iosV2Parts(body, 'graphql', 'subscriptionSpec')).toEqual(parts);
  return parts;
}

describe('a subscription over multipart HTTP', () => {
  it('answers a POST by hash (Apollo Kotlin) with the multipart type, a heartbeat at once, and a part per event', async () => {
    const alice = user();
    const number = await placeOrderByHash(system, alice);
    const since = await orderSyncToken(system, alice);
    const stream = await post(KOTLIN_ACCEPT, byHash(ORDER_EVENTS, { since }), await bearer(alice));
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(CONTENT_TYPE);
    expect(stream.headers['content-length']).toBeUndefined();
    expect(await stream.until((t) => t.length >= OPENING.length + HEARTBEAT.length)).toBe(`${OPENING}${HEARTBEAT}`);

    await setOrderStatus(system, number, 'CONFIRMED');
    await stream.until((t) => eventParts(t).length >= 1);
    const [event] = eventParts(stream.text);
    expect(Object.keys(event)).toEqual(['payload']);
    expect(Object.keys(event.payload)).toEqual(['data']);
    expect(event.payload.data.orderEvents.order).toEqual({ id: expect.any(String), number, status: 'CONFIRMED', __typename: 'Order' });
    // Read as far as it has come, as Apollo iOS reads a stream (each part once its delimiter is in).
    expect(iosV1Parts(stream.text, 'graphql', 'subscriptionSpec')).toEqual([{}, event]);
    expect(iosV2Parts(stream.text, 'graphql', 'subscriptionSpec')).toEqual([{}, event]);
  });

  it('runs by hash over GET with Apollo-Require-Preflight, the spec parameter quoted', async () => {
    const bob = user();
    const number = await placeOrderByHash(system, bob);
    const since = await orderSyncToken(system, bob);
    const query = new URLSearchParams({
      operationName: ORDER_EVENTS.name,
      variables: JSON.stringify({ since }),
      extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: ORDER_EVENTS.id } }),
    });
    const stream = await subscribe({ method: 'GET', headers: { accept: QUOTED_ACCEPT, 'apollo-require-preflight': 'true', authorization: await bearer(bob) } }, `?${query}`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(CONTENT_TYPE);
    await setOrderStatus(system, number, 'SHIPPED');
    await stream.until((t) => eventParts(t).length >= 1);
    expect(eventParts(stream.text)[0].payload.data.orderEvents.order.status).toBe('SHIPPED');
  });

  it('runs a subscription sent as manifest text (Apollo iOS), resuming from `since` with the changes after it first', async () => {
    const carol = user();
    const number = await placeOrderByHash(system, carol);
    const since = await orderSyncToken(system, carol);
    await setOrderStatus(system, number, 'CONFIRMED'); // while the app was away
    const stream = await post(IOS_ACCEPT, { operationName: 'OrderEvents', query: ORDER_EVENTS.body, variables: { since } }, await bearer(carol));
    expect(stream.headers['content-type']).toBe(CONTENT_TYPE);
    await stream.until((t) => eventParts(t).length >= 1);
    await setOrderStatus(system, number, 'SHIPPED');
    await stream.until((t) => eventParts(t).length >= 2);
    expect(eventParts(stream.text).map((p) => p.payload.data.orderEvents.order.status)).toEqual(['CONFIRMED', 'SHIPPED']);
  });

  it('refuses text that is in no manifest as every transport does: 400, PERSISTED_QUERY_ID_REQUIRED, plain JSON', async () => {
    const stream = await post(IOS_ACCEPT, { query: 'subscription { orderEvents { syncToken } }' }, await bearer(user()));
    expect(stream.status).toBe(400);
    expect(stream.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/);
    expect(JSON.parse(await stream.ended).errors).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });

  it('answers a subscription that cannot start with one part carrying its errors, then the end', async () => {
    const stream = await post(KOTLIN_ACCEPT, byHash(ORDER_EVENTS));
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe(CONTENT_TYPE);
    const body = await stream.ended;
    const json = body.slice(OPENING.length, -`\r\n--graphql${END}`.length).replace('\r\nContent-Type: application/json\r\n\r\n', '');
    expect(body).toBe(`${OPENING}${part(json)}${END}`);
    expect(JSON.parse(json)).toEqual({ payload: { errors: [expect.objectContaining({ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } })] } });
    expect(asEveryClientReadsIt(body)).toEqual([JSON.parse(json)]);
  });

  it('ends with a fatal error part when the token expires', async () => {
    const token = await signDevToken({ sub: user(), expiresIn: '2s' });
    const stream = await post(KOTLIN_ACCEPT, byHash(ORDER_EVENTS), `Bearer ${token}`);
    const body = await stream.ended;
    const fatal = part(JSON.stringify({ payload: null, errors: [{ message: 'The token has expired: refresh it and subscribe again from the last sync token.', extensions: { code: 'UNAUTHENTICATED' } }] }));
    expect(body).toBe(`${OPENING}${HEARTBEAT}${fatal}${END}`);
    expect(asEveryClientReadsIt(body)).toEqual([{}, { payload: null, errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] }]);
  });

  it("closes the subscription's stream when the client goes away", async () => {
    const streamsOpen = async () => Number(/} (\S+)$/m.exec(await system.bff.metrics.registry.getSingleMetricAsString('bff_subscription_streams'))?.[1] ?? 0);
    const eventually = async (predicate: (n: number) => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!predicate(await streamsOpen())) {
        if (Date.now() > deadline) throw new Error(`bff_subscription_streams stayed at ${await streamsOpen()}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const before = await streamsOpen();
    const stream = await post(KOTLIN_ACCEPT, byHash(ORDER_EVENTS), await bearer(user()));
    await eventually((n) => n === before + 1);
    stream.close();
    await eventually((n) => n === before);
  });

  it('sends a heartbeat part {} every 5 s while no event comes', async () => {
    const stream = await post(KOTLIN_ACCEPT, byHash(ORDER_EVENTS), await bearer(user()));
    expect(await stream.until((t) => t === `${OPENING}${HEARTBEAT}${HEARTBEAT}`, 15_000)).toBe(`${OPENING}${HEARTBEAT}${HEARTBEAT}`);
  });
});
