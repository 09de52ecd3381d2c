import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { demoOrders, seedDemoData } from '../../src/services/seed/seedDemoData.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

const ORDER_CHANGES = /* GraphQL */ `
  query($since: SyncToken, $first: Int) {
    viewer {
      orderChanges(since: $since, first: $first) {
        updated { id number status customer { id } lines { quantity product { sku } } }
        deletedIds
        syncToken
        hasMore
      }
    }
  }
`;

const PLACE_ORDER = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id number } userErrors { code } } }
`;

const CANCEL_ORDER = /* GraphQL */ `
  mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { order { status } userErrors { code } } }
`;

interface OrderChangeSet {
  updated: { id: string; number: string; status: string; customer: { id: string }; lines: { quantity: number; product: { sku: string } | null }[] }[];
  deletedIds: string[];
  syncToken: string;
  hasMore: boolean;
}

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const freshSub = (name: string) => `${name}-${randomBytes(6).toString('hex')}`;
const orderId = (number: string) => Buffer.from(`1:Order:${number}`).toString('base64url');
const productId = (sku: string) => Buffer.from(`1:Product:${sku}`).toString('base64url');

function errorCodes(response: GraphQLResponse) {
  return response.body.errors?.map((e) => e.extensions?.code);
}

async function pull(as: string, since: string | null, first?: number): Promise<OrderChangeSet> {
  const response = await system.gql(ORDER_CHANGES, { since, first }, { as });
  expect(response.body.errors).toBeUndefined();
  return response.body.data.viewer.orderChanges;
}

/** Every page from `since` until `hasMore` is false. */
async function pullAll(as: string, since: string | null, first?: number) {
  const pages: OrderChangeSet[] = [];
  let token = since;
  do {
    pages.push(await pull(as, token, first));
    token = pages.at(-1)!.syncToken;
  } while (pages.at(-1)!.hasMore && pages.length < 100);
  return { pages, token: token!, updated: pages.flatMap((p) => p.updated), deletedIds: pages.flatMap((p) => p.deletedIds) };
}

async function placeOrder(as: string, sku = 'SKU-0001'): Promise<string> {
  const response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId(sku), quantity: 2 }] } }, { as });
  expect(response.body.data.placeOrder.userErrors).toEqual([]);
  return response.body.data.placeOrder.order.number;
}

async function setStatus(number: string, status: string) {
  const response = await fetch(`${system.serviceUrls.orders}/orders/${number}/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });
  expect(response.status).toBe(200);
}

describe('viewer.orderChanges', () => {
  it("gives a full sync of the viewer's 60 demo orders with since: null, with lines and products", async () => {
    const { updated, deletedIds } = await pullAll('demo', null, 25);
    const demo = demoOrders();
    expect(updated.map((o) => o.number).sort()).toEqual(demo.map((o) => o.number).sort());
    expect(deletedIds).toEqual([]);
    const first = updated.find((o) => o.number === demo[0]!.number)!;
    expect(first.lines.map((l) => [l.product?.sku, l.quantity])).toEqual(demo[0]!.lines.map((l) => [l.sku, l.quantity]));
  });

  it("costs one orders call and one batched products call per pull (the customer is the viewer's profile)", async () => {
    const calls = await system.countCalls(() => pull('demo', null, 60));
    expect(calls.orders).toEqual({ 'GET /orders/changes': 1 });
    expect(calls.catalog).toEqual({ 'GET /products?ids': 1 });
    expect(calls.users).toEqual({ 'POST /users/ensure': 1 });
  });

  it('holds only the viewer\'s own orders', async () => {
    const alice = freshSub('alice');
    const bob = freshSub('bob');
    const alicesOrder = await placeOrder(alice);
    await placeOrder(bob);
    const { updated } = await pullAll(alice, null);
    expect(updated.map((o) => o.number)).toEqual([alicesOrder]);
  });

  it('returns an order the viewer places after the token', async () => {
    const alice = freshSub('alice');
    const { token } = await pullAll(alice, null);
    const number = await placeOrder(alice);
    const page = await pull(alice, token);
    expect(page.updated.map((o) => [o.id, o.status])).toEqual([[orderId(number), 'PENDING']]);
    expect(page.hasMore).toBe(false);
  });

  it('returns a status change made with POST /orders/{number}/status as an update', async () => {
    const alice = freshSub('alice');
    const number = await placeOrder(alice);
    const { token } = await pullAll(alice, null);
    await setStatus(number, 'SHIPPED');
    const page = await pull(alice, token);
    expect(page.updated.map((o) => [o.number, o.status])).toEqual([[number, 'SHIPPED']]);
  });

  it('returns a cancellation as an update with status CANCELLED', async () => {
    const alice = freshSub('alice');
    const number = await placeOrder(alice);
    const { token } = await pullAll(alice, null);
    const cancelled = await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: orderId(number) } }, { as: alice });
    expect(cancelled.body.data.cancelOrder.userErrors).toEqual([]);
    const page = await pull(alice, token);
    expect(page.updated.map((o) => [o.number, o.status])).toEqual([[number, 'CANCELLED']]);
  });

  it("does not show the viewer another user's changes", async () => {
    const alice = freshSub('alice');
    const bob = freshSub('bob');
    const bobsOrder = await placeOrder(bob);
    const { token } = await pullAll(alice, null);
    await setStatus(bobsOrder, 'CONFIRMED');
    await placeOrder(bob);
    const page = await pull(alice, token);
    expect(page.updated).toEqual([]);
    expect(page.deletedIds).toEqual([]);
  });

  it('gives an order moved to another user as a deletion to its former owner and an update to the new one', async () => {
    const alice = freshSub('alice');
    const bob = freshSub('bob');
    const number = await placeOrder(alice);
    const alices = await pullAll(alice, null);
    const bobs = await pullAll(bob, null);
    await system.database.db.execute(sql`UPDATE orders.orders SET user_id = ${bob} WHERE number = ${number}`);
    const alicePage = await pull(alice, alices.token);
    const bobPage = await pull(bob, bobs.token);
    expect([alicePage.updated, alicePage.deletedIds]).toEqual([[], [orderId(number)]]);
    expect(bobPage.updated.map((o) => [o.number, o.customer.id])).toEqual([[number, Buffer.from(`1:User:${bob}`).toString('base64url')]]);
  });

  it('gives an order deleted from the orders table as a deletion', async () => {
    const alice = freshSub('alice');
    const number = await placeOrder(alice);
    const { token } = await pullAll(alice, null);
    await system.database.db.execute(sql`DELETE FROM orders.orders WHERE number = ${number}`);
    const page = await pull(alice, token);
    expect([page.updated, page.deletedIds]).toEqual([[], [orderId(number)]]);
  });

  it('reports nothing to the demo user after the demo data is seeded again', async () => {
    const { token } = await pullAll('demo', null);
    await seedDemoData(system.database, { orders: true });
    const page = await pull('demo', token);
    expect([page.updated, page.deletedIds]).toEqual([[], []]);
  });

  it("refuses one user's token to another with INVALID_SYNC_TOKEN", async () => {
    const { token } = await pullAll('demo', null);
    const response = await system.gql(ORDER_CHANGES, { since: token }, { as: freshSub('mallory') });
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
    expect(response.body.data.viewer.orderChanges).toBeNull();
  });

  it('refuses a products token with INVALID_SYNC_TOKEN', async () => {
    const products = await system.gql(`{ productChanges(first: 1) { syncToken } }`);
    const response = await system.gql(ORDER_CHANGES, { since: products.body.data.productChanges.syncToken }, { as: 'demo' });
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
  });

  it('is not reachable without a token: viewer is null with UNAUTHENTICATED', async () => {
    const response = await system.gql(ORDER_CHANGES, { since: null });
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.body.data.viewer).toBeNull();
  });
});
