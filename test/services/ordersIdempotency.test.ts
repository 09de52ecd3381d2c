import { randomBytes, randomUUID } from 'node:crypto';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The orders service's own idempotent writes, over its REST API: what lets the BFF retry a
// placeOrder whose answer it never received without placing a second order.

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const freshUser = () => `buyer-${randomBytes(6).toString('hex')}`;
const LINES = [{ sku: 'SKU-0001', quantity: 2, unitPriceCents: 1299 }];

async function post(path: string, body: unknown) {
  const response = await fetch(`${system.serviceUrls.orders}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

async function ordersOf(userId: string): Promise<string[]> {
  const response = await fetch(`${system.serviceUrls.orders}/orders?userId=${encodeURIComponent(userId)}&limit=100`);
  return ((await response.json()) as { items: { number: string }[] }).items.map((o) => o.number);
}

describe('POST /orders with an idempotencyKey', () => {
  it('answers a retry with the same user and key with the first order and 200, and writes one order', async () => {
    const userId = freshUser();
    const key = randomUUID();
    const first = await post('/orders', { userId, currency: 'EUR', lines: LINES, idempotencyKey: key });
    const retry = await post('/orders', { userId, currency: 'EUR', lines: LINES, idempotencyKey: key });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body.order).toEqual(first.body.order);
    expect(await ordersOf(userId)).toEqual([first.body.order.number]);
  });

  it('answers the first order to a retry whose prices changed meanwhile (the key names the request, not its body)', async () => {
    const userId = freshUser();
    const key = randomUUID();
    const first = await post('/orders', { userId, currency: 'EUR', lines: LINES, idempotencyKey: key });
    const retry = await post('/orders', { userId, currency: 'EUR', lines: [{ ...LINES[0], unitPriceCents: 1499 }], idempotencyKey: key });
    expect(retry.status).toBe(200);
    expect(retry.body.order).toEqual(first.body.order);
  });

  it('places one order for 10 concurrent requests with one key: one 201, nine 200 with the same order', async () => {
    const userId = freshUser();
    const key = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('/orders', { userId, currency: 'EUR', lines: LINES, idempotencyKey: key })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.order.number)).size).toBe(1);
    expect(await ordersOf(userId)).toHaveLength(1);
  });

  it('scopes keys to the user: the same key places an order for each of two users', async () => {
    const key = randomUUID();
    const [a, b] = [freshUser(), freshUser()];
    const first = await post('/orders', { userId: a, currency: 'EUR', lines: LINES, idempotencyKey: key });
    const second = await post('/orders', { userId: b, currency: 'EUR', lines: LINES, idempotencyKey: key });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.order.number).not.toBe(first.body.order.number);
  });

  it('places a new order for every request without a key', async () => {
    const userId = freshUser();
    await post('/orders', { userId, currency: 'EUR', lines: LINES });
    await post('/orders', { userId, currency: 'EUR', lines: LINES });
    expect(await ordersOf(userId)).toHaveLength(2);
  });

  it('refuses an empty key with 400 INVALID_INPUT on idempotencyKey', async () => {
    const response = await post('/orders', { userId: freshUser(), currency: 'EUR', lines: LINES, idempotencyKey: '' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'INVALID_INPUT', field: 'idempotencyKey' });
  });
});

describe('POST /orders/:number/cancel with an idempotencyKey', () => {
  it('answers a retry of a successful cancel with the same key with 200 and the cancelled order', async () => {
    const userId = freshUser();
    const placed = await post('/orders', { userId, currency: 'EUR', lines: LINES });
    const key = randomUUID();
    const first = await post(`/orders/${placed.body.order.number}/cancel`, { userId, idempotencyKey: key });
    const retry = await post(`/orders/${placed.body.order.number}/cancel`, { userId, idempotencyKey: key });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body.order).toEqual(first.body.order);
    expect(retry.body.order.status).toBe('CANCELLED');
  });

  it('answers 409 ORDER_NOT_CANCELLABLE to a cancel of a cancelled order with another key', async () => {
    const userId = freshUser();
    const placed = await post('/orders', { userId, currency: 'EUR', lines: LINES });
    await post(`/orders/${placed.body.order.number}/cancel`, { userId, idempotencyKey: randomUUID() });
    const other = await post(`/orders/${placed.body.order.number}/cancel`, { userId, idempotencyKey: randomUUID() });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('ORDER_NOT_CANCELLABLE');
  });
});
