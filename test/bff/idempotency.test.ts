import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { createInProcessBus } from '../../src/bus/index.js';
import { signDevToken } from '../../src/auth/index.js';
import { createBff, type Bff } from '../../src/bff/createBff.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { selectRows } from '../../src/db/index.js';
import { startProxy, type Proxy } from '../support/startProxy.js';
import { waitUntil } from '../support/waitUntil.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// design.md §6 over real HTTP, against the real services and database: a retried mutation with
// the same key does its work once, however the retries arrive.

const productId = (sku: string) => Buffer.from(`1:Product:${sku}`).toString('base64url');
const freshSub = () => `buyer-${randomBytes(6).toString('hex')}`;
const LINES = [{ productId: productId('SKU-0001'), quantity: 2 }];

const PLACE_ORDER = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order { id number status lines { quantity unitPrice { amount currency } product { sku name } } total { amount currency } }
      userErrors { code message field }
    }
  }
`;

const CANCEL_ORDER = /* GraphQL */ `
  mutation($input: CancelOrderInput!) {
    cancelOrder(input: $input) { order { id status } userErrors { code message field } }
  }
`;

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[]; extensions?: Record<string, any> };
}

/** POSTs a GraphQL request to `url` as the user `as`, over real HTTP. */
async function post(url: string, query: string, variables: Record<string, unknown>, { as, headers = {} }: { as?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(as ? { authorization: `Bearer ${await signDevToken({ sub: as })}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const place = (as: string, input: Record<string, unknown>, headers?: Record<string, string>) => post(system.url, PLACE_ORDER, { input }, { as, headers });

/** The user's orders as the orders service has them: what was really written. */
async function ordersOf(userId: string): Promise<string[]> {
  const response = await fetch(`${system.serviceUrls.orders}/orders?userId=${encodeURIComponent(userId)}&limit=100`);
  return ((await response.json()) as { items: { number: string }[] }).items.map((o) => o.number);
}

/**
 * A second BFF instance on the same database and services, with its own configuration and,
 * optionally, its own URL for the orders service (a proxy that fails on cue).
 */
async function startBff(env: Record<string, string>, ordersUrl = system.serviceUrls.orders): Promise<{ bff: Bff; url: string }> {
  // As startTestSystem: no rate limit and no load shedding, which would refuse the test's own requests on a busy machine.
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', LOG_LEVEL: 'silent', RATE_LIMIT_PER_SECOND: '0', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', ...env });
  const bff = createBff({ config, database: system.database, serviceUrls: { ...system.serviceUrls, orders: ordersUrl }, bus: createInProcessBus(), logger: pino({ level: 'silent' }) });
  return { bff, url: await bff.start({ port: 0, host: '127.0.0.1' }) };
}

describe('a retry with the same key and arguments', () => {
  it('answers the stored result with extensions.idempotentReplay: true, and writes nothing downstream', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: LINES };
    const first = await place(sub, input);
    let retry!: Answer;
    const calls = await system.countCalls(async () => {
      retry = await place(sub, input);
    });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.extensions?.idempotentReplay).toBeUndefined();
    expect(retry.status).toBe(200);
    expect(retry.body.data).toEqual(first.body.data);
    expect(retry.body.extensions).toEqual({ idempotentReplay: true, idempotentReplayFields: ['placeOrder'] });
    // Only reads: the products under the stored order are served afresh, like any read.
    expect(Object.values(calls).flatMap((routes) => Object.keys(routes))).toEqual(['GET /products?ids']);
    expect(await ordersOf(sub)).toEqual([first.body.data.placeOrder.order.number]);
  });

  it('places exactly one order for 50 concurrent requests: the others are byte-identical replays or 409 IDEMPOTENCY_KEY_IN_USE', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: LINES };
    const answers = await Promise.all(Array.from({ length: 50 }, () => place(sub, input)));

    expect(await ordersOf(sub)).toHaveLength(1);
    const succeeded = answers.filter((a) => a.status === 200);
    const inUse = answers.filter((a) => a.status === 409);
    expect(succeeded.length + inUse.length).toBe(50);
    expect(succeeded.filter((a) => !a.body.extensions?.idempotentReplay)).toHaveLength(1);
    expect(new Set(succeeded.map((a) => JSON.stringify(a.body.data))).size).toBe(1);
    expect(succeeded[0]!.body.data.placeOrder.userErrors).toEqual([]);
    for (const a of inUse) {
      expect(a.body.data ?? null).toBeNull();
      expect(a.body.errors!.map((e) => e.extensions?.code)).toEqual(['IDEMPOTENCY_KEY_IN_USE']);
      expect(a.headers.get('retry-after')).toBe('1');
    }
  });

  it('replays when the same arguments are spelled differently (literals instead of variables, fields in another order)', async () => {
    const sub = freshSub();
    const key = randomUUID();
    const first = await place(sub, { idempotencyKey: key, lines: LINES });
    const literal = await post(
      system.url,
      `mutation { placeOrder(input: { lines: [{ quantity: 2, productId: "${productId('SKU-0001')}" }], idempotencyKey: "${key}" }) {
        order { id number status lines { quantity unitPrice { amount currency } product { sku name } } total { amount currency } }
        userErrors { code message field } } }`,
      {},
      { as: sub },
    );
    expect(literal.body.extensions?.idempotentReplay).toBe(true);
    expect(literal.body.data).toEqual(first.body.data);
  });

  it('replays a business outcome: the same PRODUCT_NOT_FOUND user error, even after the product appeared', async () => {
    const sub = freshSub();
    const sku = `LATE-${randomBytes(4).toString('hex')}`;
    const input = { idempotencyKey: randomUUID(), lines: [{ productId: productId(sku), quantity: 1 }] };
    const first = await place(sub, input);
    expect(first.body.data.placeOrder.userErrors.map((e: any) => e.code)).toEqual(['PRODUCT_NOT_FOUND']);
    const put = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Late Lamp', priceCents: 900, currency: 'EUR' }) });
    expect(put.status).toBe(201);

    const retry = await place(sub, input);
    expect(retry.body.extensions?.idempotentReplay).toBe(true);
    expect(retry.body.data).toEqual(first.body.data);
    expect(await ordersOf(sub)).toEqual([]);
  });

  it('replays a successful cancelOrder: no ORDER_NOT_CANCELLABLE for the retry of a cancel that worked', async () => {
    const sub = freshSub();
    const placed = await place(sub, { idempotencyKey: randomUUID(), lines: LINES });
    const input = { idempotencyKey: randomUUID(), orderId: placed.body.data.placeOrder.order.id };
    const first = await post(system.url, CANCEL_ORDER, { input }, { as: sub });
    const retry = await post(system.url, CANCEL_ORDER, { input }, { as: sub });
    expect(first.body.data.cancelOrder).toEqual({ order: { id: input.orderId, status: 'CANCELLED' }, userErrors: [] });
    expect(retry.body.data).toEqual(first.body.data);
    expect(retry.body.extensions?.idempotentReplay).toBe(true);
  });
});

describe('keys that cannot be used', () => {
  it('answers 422 IDEMPOTENCY_KEY_REUSED to the same key with other lines, and places nothing more', async () => {
    const sub = freshSub();
    const key = randomUUID();
    await place(sub, { idempotencyKey: key, lines: LINES });
    const other = await place(sub, { idempotencyKey: key, lines: [{ productId: productId('SKU-0002'), quantity: 1 }] });
    expect(other.status).toBe(422);
    expect(other.body.data ?? null).toBeNull();
    expect(other.body.errors!.map((e) => [e.extensions?.code, e.path])).toEqual([['IDEMPOTENCY_KEY_REUSED', ['placeOrder']]]);
    expect(await ordersOf(sub)).toHaveLength(1);
  });

  it('answers 400 IDEMPOTENCY_KEY_REQUIRED without a key, and places nothing', async () => {
    const sub = freshSub();
    const answer = await place(sub, { lines: LINES });
    expect(answer.status).toBe(400);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors!.map((e) => e.extensions?.code)).toEqual(['IDEMPOTENCY_KEY_REQUIRED']);
    expect(await ordersOf(sub)).toEqual([]);
  });

  it('answers 400 BAD_USER_INPUT to a key of 256 characters', async () => {
    const answer = await place(freshSub(), { idempotencyKey: 'k'.repeat(256), lines: LINES });
    expect(answer.status).toBe(400);
    expect(answer.body.errors!.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(answer.body.errors![0]!.message).toMatch(/1 to 255 visible ASCII characters.*got 256 characters/);
  });

  it('accepts a key of 255 characters', async () => {
    const answer = await place(freshSub(), { idempotencyKey: 'k'.repeat(255), lines: LINES });
    expect(answer.status).toBe(200);
    expect(answer.body.data.placeOrder.userErrors).toEqual([]);
  });

  it('answers 400 BAD_USER_INPUT to an empty key and to one with a space or a non-ASCII character', async () => {
    for (const key of ['', 'two words', 'clé']) {
      const answer = await place(freshSub(), { idempotencyKey: key, lines: LINES });
      expect(answer.status).toBe(400);
      expect(answer.body.errors!.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('answers UNAUTHENTICATED (not IDEMPOTENCY_KEY_REQUIRED) to an anonymous request without a key', async () => {
    const answer = await post(system.url, PLACE_ORDER, { input: { lines: LINES } });
    expect(answer.body.errors!.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('what a key is scoped to', () => {
  it('the user: the same key places an order for each of two users', async () => {
    const key = randomUUID();
    const [a, b] = [freshSub(), freshSub()];
    const first = await place(a, { idempotencyKey: key, lines: LINES });
    const second = await place(b, { idempotencyKey: key, lines: LINES });
    expect(second.body.extensions?.idempotentReplay).toBeUndefined();
    expect(second.body.data.placeOrder.order.number).not.toBe(first.body.data.placeOrder.order.number);
    expect(await ordersOf(b)).toHaveLength(1);
  });

  it('the field: the key of a placeOrder can also be the key of a cancelOrder', async () => {
    const sub = freshSub();
    const key = randomUUID();
    const placed = await place(sub, { idempotencyKey: key, lines: LINES });
    const cancelled = await post(system.url, CANCEL_ORDER, { input: { idempotencyKey: key, orderId: placed.body.data.placeOrder.order.id } }, { as: sub });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.data.cancelOrder.order.status).toBe('CANCELLED');
  });
});

describe('the Idempotency-Key header', () => {
  it('is the key of a document with one mutation field: a retry with the same header replays', async () => {
    const sub = freshSub();
    const headers = { 'idempotency-key': randomUUID() };
    const first = await place(sub, { lines: LINES }, headers);
    const retry = await place(sub, { lines: LINES }, headers);
    expect(first.status).toBe(200);
    expect(first.body.data.placeOrder.userErrors).toEqual([]);
    expect(retry.body.extensions?.idempotentReplay).toBe(true);
    expect(retry.body.data).toEqual(first.body.data);
    expect(await ordersOf(sub)).toHaveLength(1);
  });

  it('is the same key as input.idempotencyKey with the same value', async () => {
    const sub = freshSub();
    const key = randomUUID();
    const first = await place(sub, { lines: LINES }, { 'idempotency-key': key });
    const retry = await place(sub, { idempotencyKey: key, lines: LINES });
    expect(retry.body.extensions?.idempotentReplay).toBe(true);
    expect(retry.body.data).toEqual(first.body.data);
  });

  it('accepts the quoted form of the IETF draft ("…")', async () => {
    const sub = freshSub();
    const key = randomUUID();
    const first = await place(sub, { lines: LINES }, { 'idempotency-key': `"${key}"` });
    const retry = await place(sub, { idempotencyKey: key, lines: LINES });
    expect(first.body.data.placeOrder.userErrors).toEqual([]);
    expect(retry.body.extensions?.idempotentReplay).toBe(true);
  });

  it('is refused with 400 BAD_USER_INPUT for a document with two mutation fields, which then runs neither', async () => {
    const sub = freshSub();
    const answer = await post(
      system.url,
      `mutation($a: PlaceOrderInput!, $b: PlaceOrderInput!) { a: placeOrder(input: $a) { order { id } } b: placeOrder(input: $b) { order { id } } }`,
      { a: { lines: LINES }, b: { lines: LINES } },
      { as: sub, headers: { 'idempotency-key': randomUUID() } },
    );
    expect(answer.status).toBe(400);
    expect(answer.body.errors!.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(answer.body.errors![0]!.message).toMatch(/only mutation field.*has 2/);
    expect(await ordersOf(sub)).toEqual([]);
  });

  it('is refused with BAD_USER_INPUT when input.idempotencyKey says otherwise', async () => {
    const answer = await place(freshSub(), { idempotencyKey: randomUUID(), lines: LINES }, { 'idempotency-key': randomUUID() });
    expect(answer.body.errors!.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('several mutation fields in one document', () => {
  const TWO = `mutation($a: PlaceOrderInput!, $b: PlaceOrderInput!) { a: placeOrder(input: $a) { order { number } } b: placeOrder(input: $b) { order { number } } }`;

  it('runs each under its own key, and a retry replays both, naming them in extensions.idempotentReplayFields', async () => {
    const sub = freshSub();
    const variables = { a: { idempotencyKey: randomUUID(), lines: LINES }, b: { idempotencyKey: randomUUID(), lines: LINES } };
    const first = await post(system.url, TWO, variables, { as: sub });
    const retry = await post(system.url, TWO, variables, { as: sub });
    expect(first.body.data.a.order.number).not.toBe(first.body.data.b.order.number);
    expect(retry.body.data).toEqual(first.body.data);
    expect(retry.body.extensions).toEqual({ idempotentReplay: true, idempotentReplayFields: ['a', 'b'] });
    expect(await ordersOf(sub)).toHaveLength(2);
  });
});

describe('failures and retries', () => {
  let proxy: Proxy;
  let instance: { bff: Bff; url: string };
  let patient: { bff: Bff; url: string };
  beforeAll(async () => {
    proxy = await startProxy(system.serviceUrls.orders);
    // A short deadline, and a lock timeout shorter than one downstream call can take.
    instance = await startBff({ DOWNSTREAM_TIMEOUT_MS: '1500', IDEMPOTENCY_LOCK_TIMEOUT: '300ms' }, proxy.url);
    patient = await startBff({}, proxy.url);
  });
  afterAll(async () => {
    await instance?.bff.stop();
    await patient?.bff.stop();
    await proxy?.close();
  });
  const placeVia = (sub: string, input: Record<string, unknown>) => post(instance.url, PLACE_ORDER, { input }, { as: sub });

  it('releases the key when the orders service answers 503: the retry places the order, once', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: LINES };
    proxy.once('POST /orders', 'unavailable');
    const failed = await placeVia(sub, input);
    expect(failed.body.errors!.map((e) => e.extensions?.code)).toEqual(['DOWNSTREAM_UNAVAILABLE']);
    expect(await ordersOf(sub)).toEqual([]);

    const retry = await placeVia(sub, input);
    expect(retry.status).toBe(200);
    expect(retry.body.extensions?.idempotentReplay).toBeUndefined();
    expect(retry.body.data.placeOrder.userErrors).toEqual([]);
    expect(await ordersOf(sub)).toEqual([retry.body.data.placeOrder.order.number]);
  });

  it('releases the key when the answer of a placed order is lost (timeout): the retry answers that same order', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: LINES };
    proxy.once('POST /orders', 'loseAnswer');
    const failed = await placeVia(sub, input);
    expect(failed.body.errors!.map((e) => e.extensions?.code)).toEqual(['DOWNSTREAM_UNAVAILABLE']);
    const written = await ordersOf(sub);
    expect(written).toHaveLength(1);

    const retry = await placeVia(sub, input);
    expect(retry.body.data.placeOrder.order.number).toBe(written[0]);
    expect(await ordersOf(sub)).toEqual(written);
  });

  it('answers 409 IDEMPOTENCY_KEY_IN_USE with Retry-After, on any instance, while the first attempt runs; then replays its result', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: LINES };
    proxy.once('POST /orders', 'hold');
    const held = proxy.held('POST /orders');
    const first = post(patient.url, PLACE_ORDER, { input }, { as: sub }); // its lock lasts the default 30 s
    await held;
    try {
      const during = await place(sub, input);
      expect(during.status).toBe(409);
      expect(during.headers.get('retry-after')).toBe('1');
      expect(during.body.errors!.map((e) => [e.extensions?.code, e.extensions?.retryAfter])).toEqual([['IDEMPOTENCY_KEY_IN_USE', 1]]);
    } finally {
      proxy.release();
    }
    const done = await first;
    const after = await place(sub, input);
    expect(after.body.extensions?.idempotentReplay).toBe(true);
    expect(after.body.data).toEqual(done.body.data);
  });

  it('lets a retry take over an attempt that outlived the lock timeout; both answer the one order placed', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: LINES };
    proxy.once('POST /orders', 'hold');
    const held = proxy.held('POST /orders');
    const slow = placeVia(sub, input);
    await held;
    await new Promise((resolve) => setTimeout(resolve, 400));
    const retry = await placeVia(sub, input);
    proxy.release();
    const late = await slow;
    expect(retry.body.data.placeOrder.userErrors).toEqual([]);
    expect(late.body.data.placeOrder.order.number).toBe(retry.body.data.placeOrder.order.number);
    expect(await ordersOf(sub)).toEqual([retry.body.data.placeOrder.order.number]);
  });
});

describe('expiry', () => {
  const keyRows = async (sub: string) =>
    (await selectRows<{ n: number }>(system.database.db, sql`SELECT count(*)::int AS n FROM bff.idempotency_keys WHERE user_id = ${sub}`))[0]!.n;

  it('deletes a key with the purge job once it expired', async () => {
    const { bff, url } = await startBff({ IDEMPOTENCY_KEY_TTL: '1s', IDEMPOTENCY_PURGE_INTERVAL: '200ms' });
    try {
      const sub = freshSub();
      await post(url, PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: LINES } }, { as: sub });
      expect(await keyRows(sub)).toBe(1);
      // Gone once it expired (1 s) and the job ran after that (every 200 ms): however long a busy machine makes that.
      await waitUntil(async () => (await keyRows(sub)) === 0, { what: 'the purge job to delete the expired key' });
    } finally {
      await bff.stop();
    }
  });

  it('runs a request anew when its key has expired, purged or not yet: a new order', async () => {
    const { bff, url } = await startBff({ IDEMPOTENCY_KEY_TTL: '1s', IDEMPOTENCY_PURGE_INTERVAL: '1h' });
    try {
      const sub = freshSub();
      const input = { idempotencyKey: randomUUID(), lines: LINES };
      const first = await post(url, PLACE_ORDER, { input }, { as: sub });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(await keyRows(sub)).toBe(1);
      const later = await post(url, PLACE_ORDER, { input }, { as: sub });
      expect(later.body.extensions?.idempotentReplay).toBeUndefined();
      expect(later.body.data.placeOrder.order.number).not.toBe(first.body.data.placeOrder.order.number);
      expect(await ordersOf(sub)).toHaveLength(2);
    } finally {
      await bff.stop();
    }
  });
});
