import { randomUUID } from 'node:crypto';
import type { Client, ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { placeOrder, setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { collect, wsClient } from '../support/wsClient.js';

// A WebSocket is no way around the limits of HTTP: each operation on it passes the same
// admission (the client's rate, load shedding); a client holds a bounded number of sockets; a
// socket sends a bounded number of messages. A refusal concerns one operation, or one socket:
// the client's other operations and other clients run on.
let system: TestSystem;
const clients: Client[] = [];
beforeAll(async () => {
  system = await startTestSystem({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '5', WS_MAX_SOCKETS_PER_CLIENT: '2', WS_MAX_MESSAGES_PER_SECOND: '5' });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
afterAll(() => system?.stop());

const ORDER_EVENTS = 'subscription { orderEvents { order { number status } syncToken } }';

async function connectAs(sub: string, closed?: (e: { code: number; reason: string }) => void) {
  const client = wsClient(system.url, { Authorization: `Bearer ${await signDevToken({ sub })}` }, closed ? { closed } : {});
  clients.push(client);
  return client;
}

/** Runs one query on `client`: its result, or the errors of the `error` message for its id. */
function query(client: Client, text: string): Promise<{ result?: ExecutionResult<any>; errors?: { message: string; extensions?: Record<string, any> }[] }> {
  return new Promise((resolve) => {
    let result: ExecutionResult<any> | undefined;
    client.subscribe(
      { query: text },
      {
        next: (r) => (result = r as ExecutionResult<any>),
        error: (e) => resolve({ errors: Array.isArray(e) ? e : [{ message: String(e) }] }),
        complete: () => resolve({ result: result! }),
      },
    );
  });
}

/** A raw graphql-transport-ws socket, to see exactly what the server sends and how it closes. */
async function rawSocket(token: string, subprotocol = 'graphql-transport-ws') {
  const ws = new WebSocket(system.url.replace(/^http/, 'ws'), subprotocol);
  const messages: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (m) => {
    messages.push(JSON.parse(String(m)));
    waiters.forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const waitFor = (predicate: (m: any) => boolean, ms = 5_000) =>
    new Promise<any>((resolve, reject) => {
      const check = () => {
        const found = messages.find(predicate);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no such message; got ${JSON.stringify(messages)}`));
      }, ms);
      waiters.add(check);
      check();
    });
  ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
  await waitFor((m) => m.type === 'connection_ack');
  return { ws, messages, closed, waitFor, send: (m: unknown) => ws.send(JSON.stringify(m)) };
}

describe('operations over one socket', () => {
  it("count against the client's rate like HTTP requests: past the burst, each one more gets an error RATE_LIMITED for its own id, while the socket's subscription and other clients run on", async () => {
    const frank = `frank-${randomUUID()}`;
    const number = await placeOrder(system, frank); // the profile and the order: 1 of frank's burst of 5
    const client = await connectAs(frank);
    const events = collect(client, { query: ORDER_EVENTS }); // 2
    // 30 queries at once on the same socket: at most the 3 left of the burst (and one a second) run.
    const answers = await Promise.all(Array.from({ length: 30 }, () => query(client, '{ __typename }')));
    const ran = answers.filter((a) => a.result?.data?.__typename === 'Query');
    const refused = answers.filter((a) => a.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(ran.length).toBeGreaterThanOrEqual(1);
    expect(ran.length).toBeLessThanOrEqual(5);
    expect(ran.length + refused.length).toBe(30);
    expect(refused[0]!.errors![0]).toEqual({ message: expect.stringMatching(/^Too many requests: retry after \d+ s\.$/), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) } });
    // The subscription admitted before is untouched: it still gets frank's order events.
    await setOrderStatus(system, number, 'SHIPPED');
    await events.until(() => events.results.some((r) => r.data?.orderEvents?.order.status === 'SHIPPED'));
    // Another client is not limited by frank's flood.
    const grace = await connectAs(`grace-${randomUUID()}`);
    expect((await query(grace, '{ __typename }')).result?.data).toEqual({ __typename: 'Query' });
  });

  it('share one allowance with HTTP: a token that spent its burst on a socket gets 429 over HTTP', async () => {
    const heidi = `heidi-${randomUUID()}`;
    const client = await connectAs(heidi);
    await Promise.all(Array.from({ length: 8 }, () => query(client, '{ __typename }')));
    const response = await system.gql('{ __typename }', {}, { as: heidi });
    expect(response.status).toBe(429);
    expect(response.body.errors![0]!.extensions?.code).toBe('RATE_LIMITED');
  });
});

describe('the legacy subprotocol (subscriptions-transport-ws)', () => {
  it('passes every `start` through the same admission: past the burst, a RATE_LIMITED result for that id, and the socket stays', async () => {
    const socket = await rawSocket(await signDevToken({ sub: `mia-${randomUUID()}` }), 'graphql-ws');
    for (let i = 0; i < 9; i++) socket.send({ id: `q${i}`, type: 'start', payload: { query: '{ __typename }' } });
    const refused = await socket.waitFor((m) => m.type === 'data' && m.payload.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    expect(refused.payload.errors[0].message).toMatch(/^Too many requests: retry after \d+ s\.$/);
    const ran = () => socket.messages.filter((m) => m.type === 'data' && m.payload.data?.__typename === 'Query').length;
    await socket.waitFor((m) => m.type === 'complete' && m.id === 'q8');
    expect(ran()).toBeGreaterThanOrEqual(1);
    expect(ran()).toBeLessThanOrEqual(6);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    socket.ws.close();
  });
});

describe('sockets per client (WS_MAX_SOCKETS_PER_CLIENT=2)', () => {
  it('closes a third socket of one token with 1013 (try again later, same token) and keeps the first two', async () => {
    const ivan = `ivan-${randomUUID()}`;
    const first = await connectAs(ivan);
    const second = await connectAs(ivan);
    expect((await query(first, '{ __typename }')).result?.data).toEqual({ __typename: 'Query' });
    expect((await query(second, '{ __typename }')).result?.data).toEqual({ __typename: 'Query' });
    let closedWith: { code: number; reason: string } | undefined;
    const third = await connectAs(ivan, (e) => (closedWith = e));
    const answer = await query(third, '{ __typename }');
    expect(answer.result).toBeUndefined();
    expect(closedWith).toMatchObject({ code: 1013, reason: expect.stringMatching(/too many sockets/i) });
    // Another user's socket is not counted against ivan's.
    const judy = await connectAs(`judy-${randomUUID()}`);
    expect((await query(judy, '{ __typename }')).result?.data).toEqual({ __typename: 'Query' });
    // A socket closed is a socket freed (once the server has seen it close: retried until then).
    await first.dispose();
    const deadline = Date.now() + 5_000;
    let fourth: Awaited<ReturnType<typeof query>> | undefined;
    while (!fourth?.result && Date.now() < deadline) fourth = await query(await connectAs(ivan, () => {}), '{ __typename }');
    expect(fourth?.result?.data).toEqual({ __typename: 'Query' });
  });
});

describe('messages per socket (WS_MAX_MESSAGES_PER_SECOND=5, burst 10)', () => {
  it('answers a subscribe past the allowance with an error RATE_LIMITED for its id and keeps the socket', async () => {
    const socket = await rawSocket(await signDevToken({ sub: `ken-${randomUUID()}` }));
    for (let i = 0; i < 15; i++) socket.send({ id: `c${i}`, type: 'complete' }); // not counted: complete frees
    for (let i = 0; i < 12; i++) socket.send({ id: `s${i}`, type: 'subscribe', payload: { query: '{ __typename }' } });
    const refused = await socket.waitFor((m) => m.type === 'error' && m.payload[0].message === 'Too many messages on this socket: slow down.');
    expect(refused.payload[0].extensions).toEqual({ code: 'RATE_LIMITED' });
    socket.send({ type: 'pong' });
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    socket.ws.close();
  });

  it('closes a socket that floods pings with 1008 (policy violation)', async () => {
    const socket = await rawSocket(await signDevToken({ sub: `leo-${randomUUID()}` }));
    for (let i = 0; i < 50; i++) socket.send({ type: 'ping' });
    expect(await socket.closed).toEqual({ code: 1008, reason: 'Too many messages' });
  });
});
