import { randomBytes, randomUUID } from 'node:crypto';
import { signDevToken } from '../../src/auth/index.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

const globalId = (raw: string) => Buffer.from(raw).toString('base64url');
const productId = (sku: string) => globalId(`1:Product:${sku}`);
const freshSub = (name = 'alice') => `${name}-${randomBytes(6).toString('hex')}`;

const VIEWER = /* GraphQL */ `
  query { viewer { id name email avatarUrl version } }
`;

const UPDATE_PROFILE = /* GraphQL */ `
  mutation($input: UpdateProfileInput!) {
    updateProfile(input: $input) {
      user { id name email avatarUrl version }
      userErrors { code message field }
    }
  }
`;

const ORDER_FIELDS = /* GraphQL */ `
  id number status createdAt
  lines { quantity unitPrice { amount currency } product { id sku name } }
  total { amount currency }
`;

const PLACE_ORDER = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order { ${ORDER_FIELDS} }
      userErrors { code message field }
    }
  }
`;

const CANCEL_ORDER = /* GraphQL */ `
  mutation($input: CancelOrderInput!) {
    cancelOrder(input: $input) {
      order { id number status }
      userErrors { code message field }
    }
  }
`;

const NODE_ORDER = /* GraphQL */ `
  query($id: ID!) { node(id: $id) { __typename ... on Order { ${ORDER_FIELDS} } } }
`;

const VIEWER_ORDERS = /* GraphQL */ `
  query($first: Int!) { viewer { orders(first: $first) { edges { node { id number status } } } } }
`;

const PRODUCT = /* GraphQL */ `
  query($id: ID!) { product(id: $id) { id sku name description price { amount currency } } }
`;

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

/** A request with a dev token carrying the given claims (the helper's `as` signs `sub` only). */
async function gqlWithClaims(query: string, variables: Record<string, unknown>, claims: { sub: string; name?: string; email?: string }) {
  return system.gql(query, variables, { headers: { authorization: `Bearer ${await signDevToken(claims)}` } });
}

function expectNoErrors(response: GraphQLResponse) {
  expect(response.body.errors).toBeUndefined();
}

async function placeOrder(as: string, lines: { productId: string; quantity: number }[]) {
  const response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines } }, { as });
  expectNoErrors(response);
  expect(response.body.data.placeOrder.userErrors).toEqual([]);
  return response.body.data.placeOrder.order;
}

async function putProduct(sku: string, body: Record<string, unknown>) {
  return fetch(`${system.serviceUrls.catalog}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function setOrderStatus(number: string, status: string) {
  const response = await fetch(`${system.serviceUrls.orders}/orders/${number}/status`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
  });
  expect(response.status).toBe(200);
}

describe('viewer: the profile is created on first sight', () => {
  it("creates a never-seen user's profile named after the token's name claim, at version 1", async () => {
    const sub = freshSub();
    const response = await gqlWithClaims(VIEWER, {}, { sub, name: 'Alice Example' });
    expectNoErrors(response);
    expect(response.body.data.viewer).toEqual({ id: globalId(`1:User:${sub}`), name: 'Alice Example', email: null, avatarUrl: null, version: 1 });
  });

  it('names a never-seen user after the sub when the token carries no name claim', async () => {
    const sub = freshSub();
    const response = await system.gql(VIEWER, {}, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.viewer.name).toBe(sub);
  });

  it('returns the same id and version on the next request (the profile is created once)', async () => {
    const sub = freshSub();
    const first = await gqlWithClaims(VIEWER, {}, { sub, name: 'Alice Example' });
    const second = await gqlWithClaims(VIEWER, {}, { sub, name: 'Alice Renamed In Token' });
    expectNoErrors(first);
    expectNoErrors(second);
    expect(second.body.data.viewer.id).toBe(first.body.data.viewer.id);
    expect(second.body.data.viewer.version).toBe(first.body.data.viewer.version);
    expect(second.body.data.viewer.name).toBe('Alice Example');
  });
});

describe('updateProfile', () => {
  async function newUser() {
    const sub = freshSub();
    const response = await gqlWithClaims(VIEWER, {}, { sub, name: 'Alice Example', email: 'alice@example.com' });
    expectNoErrors(response);
    return { sub, profile: response.body.data.viewer as { id: string; name: string; email: string | null; avatarUrl: string | null; version: number } };
  }

  it('changes only the fields given and increases the version by one', async () => {
    const { sub, profile } = await newUser();
    const response = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: profile.version, name: 'Alice Cooper' } }, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.updateProfile).toEqual({
      user: { ...profile, name: 'Alice Cooper', version: profile.version + 1 },
      userErrors: [],
    });
    const viewer = await system.gql(VIEWER, {}, { as: sub });
    expect(viewer.body.data.viewer).toEqual({ ...profile, name: 'Alice Cooper', version: profile.version + 1 });
  });

  it('refuses a stale expectedVersion on a field changed since with VERSION_CONFLICT, returns the current profile and changes nothing', async () => {
    const { sub, profile } = await newUser();
    const first = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: profile.version, name: 'Alice From Phone' } }, { as: sub });
    expect(first.body.data.updateProfile.userErrors).toEqual([]);
    const current = first.body.data.updateProfile.user;

    const stale = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: profile.version, name: 'Alice From Tablet' } }, { as: sub });
    expectNoErrors(stale);
    const payload = stale.body.data.updateProfile;
    expect(payload.userErrors).toEqual([{ code: 'VERSION_CONFLICT', message: expect.any(String), field: ['name'] }]);
    expect(payload.user).toEqual(current);
    expect(payload.user.name).toBe('Alice From Phone');

    const viewer = await system.gql(VIEWER, {}, { as: sub });
    expect(viewer.body.data.viewer).toEqual(current);
  });

  it('accepts a stale expectedVersion that touches only fields not changed since (field-level merge)', async () => {
    const { sub, profile } = await newUser();
    const first = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: profile.version, name: 'Alice From Phone' } }, { as: sub });
    expect(first.body.data.updateProfile.userErrors).toEqual([]);

    const merged = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: profile.version, email: 'alice@tablet.example' } }, { as: sub });
    expectNoErrors(merged);
    expect(merged.body.data.updateProfile).toEqual({
      user: { ...profile, name: 'Alice From Phone', email: 'alice@tablet.example', version: profile.version + 2 },
      userErrors: [],
    });
  });

  it('refuses an invalid email with INVALID_INPUT on field ["email"] and changes nothing', async () => {
    const { sub, profile } = await newUser();
    const response = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: profile.version, email: 'not an email' } }, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.updateProfile.userErrors).toEqual([{ code: 'INVALID_INPUT', message: expect.any(String), field: ['email'] }]);
    const viewer = await system.gql(VIEWER, {}, { as: sub });
    expect(viewer.body.data.viewer).toEqual(profile);
  });

  it('answers UNAUTHENTICATED without a token', async () => {
    const response = await system.gql(UPDATE_PROFILE, { input: { expectedVersion: 1, name: 'Nobody' } });
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(response.body.data?.updateProfile ?? null).toBeNull();
  });
});

describe('placeOrder', () => {
  it('places a PENDING order with named lines and total = Σ quantity × unitPrice, listed first among the viewer\'s orders, with one POST /orders', async () => {
    const sub = freshSub();
    const earlier = await placeOrder(sub, [{ productId: productId('SKU-0003'), quantity: 1 }]);

    let response!: GraphQLResponse;
    const calls = await system.countCalls(async () => {
      response = await system.gql(
        PLACE_ORDER,
        { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0001'), quantity: 2 }, { productId: productId('SKU-0002'), quantity: 3 }] } },
        { as: sub },
      );
    });
    expectNoErrors(response);
    const { order, userErrors } = response.body.data.placeOrder;
    expect(userErrors).toEqual([]);
    expect(order.status).toBe('PENDING');
    expect(order.lines.map((l: any) => [l.product.sku, l.quantity])).toEqual([
      ['SKU-0001', 2],
      ['SKU-0002', 3],
    ]);
    expect(order.lines.map((l: any) => l.product.name)).toEqual(['Amber Backpack', 'Bold Backpack']);
    for (const line of order.lines) expect(line.unitPrice.currency).toBe('EUR');
    const sum = order.lines.reduce((s: number, l: any) => s + l.quantity * l.unitPrice.amount, 0);
    expect(order.total).toEqual({ amount: sum, currency: 'EUR' });
    expect(calls.orders).toEqual({ 'POST /orders': 1 });

    const list = await system.gql(VIEWER_ORDERS, { first: 1 }, { as: sub });
    expectNoErrors(list);
    expect(list.body.data.viewer.orders.edges.map((e: any) => e.node.id)).toEqual([order.id]);
    expect(order.id).not.toBe(earlier.id);
  });

  it('charges the catalog price of each product at the time of the order', async () => {
    const sub = freshSub();
    const product = await system.gql(PRODUCT, { id: productId('SKU-0010') });
    const order = await placeOrder(sub, [{ productId: productId('SKU-0010'), quantity: 4 }]);
    expect(order.lines[0].unitPrice).toEqual(product.body.data.product.price);
    expect(order.total.amount).toBe(4 * product.body.data.product.price.amount);
  });

  it('refuses an unknown product with PRODUCT_NOT_FOUND on ["lines","0","productId"] and creates no order', async () => {
    const sub = freshSub();
    let response!: GraphQLResponse;
    const calls = await system.countCalls(async () => {
      response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-9999'), quantity: 1 }] } }, { as: sub });
    });
    expectNoErrors(response);
    expect(response.body.data.placeOrder).toEqual({
      order: null,
      userErrors: [{ code: 'PRODUCT_NOT_FOUND', message: expect.any(String), field: ['lines', '0', 'productId'] }],
    });
    expect(calls.orders['POST /orders']).toBeUndefined();
    const list = await system.gql(VIEWER_ORDERS, { first: 10 }, { as: sub });
    expect(list.body.data.viewer.orders.edges).toEqual([]);
  });

  it('points PRODUCT_NOT_FOUND at the unknown line when other lines are fine', async () => {
    const sub = freshSub();
    const response = await system.gql(
      PLACE_ORDER,
      { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0001'), quantity: 1 }, { productId: productId('SKU-9999'), quantity: 1 }] } },
      { as: sub },
    );
    expectNoErrors(response);
    expect(response.body.data.placeOrder.order).toBeNull();
    expect(response.body.data.placeOrder.userErrors).toEqual([{ code: 'PRODUCT_NOT_FOUND', message: expect.any(String), field: ['lines', '1', 'productId'] }]);
  });

  it('refuses a garbage productId with PRODUCT_NOT_FOUND', async () => {
    const sub = freshSub();
    const calls = await system.countCalls(async () => {
      const response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [{ productId: 'garbage!', quantity: 1 }] } }, { as: sub });
      expectNoErrors(response);
      expect(response.body.data.placeOrder).toEqual({
        order: null,
        userErrors: [{ code: 'PRODUCT_NOT_FOUND', message: expect.any(String), field: ['lines', '0', 'productId'] }],
      });
    });
    expect(calls.orders['POST /orders']).toBeUndefined();
  });

  it('refuses a product id whose key holds the batch separator (",") with PRODUCT_NOT_FOUND, not an internal error', async () => {
    const sub = freshSub();
    const response = await system.gql(
      PLACE_ORDER,
      { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0001'), quantity: 1 }, { productId: productId('SKU-0002,'), quantity: 1 }] } },
      { as: sub },
    );
    expectNoErrors(response);
    expect(response.body.data.placeOrder).toEqual({
      order: null,
      userErrors: [{ code: 'PRODUCT_NOT_FOUND', message: expect.any(String), field: ['lines', '1', 'productId'] }],
    });
  });

  it('refuses quantity 0 with INVALID_INPUT on ["lines","0","quantity"]', async () => {
    const sub = freshSub();
    const response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0001'), quantity: 0 }] } }, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.placeOrder).toEqual({
      order: null,
      userErrors: [{ code: 'INVALID_INPUT', message: expect.any(String), field: ['lines', '0', 'quantity'] }],
    });
  });

  it('refuses an order without lines with INVALID_INPUT', async () => {
    const sub = freshSub();
    const calls = await system.countCalls(async () => {
      const response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [] } }, { as: sub });
      expectNoErrors(response);
      expect(response.body.data.placeOrder.order).toBeNull();
      expect(response.body.data.placeOrder.userErrors).toEqual([{ code: 'INVALID_INPUT', message: expect.any(String), field: ['lines'] }]);
    });
    expect(calls.orders['POST /orders']).toBeUndefined();
  });

  it('answers UNAUTHENTICATED without a token', async () => {
    const response = await system.gql(PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0001'), quantity: 1 }] } });
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('cancelOrder', () => {
  it("cancels a PENDING order of the viewer", async () => {
    const sub = freshSub();
    const order = await placeOrder(sub, [{ productId: productId('SKU-0001'), quantity: 1 }]);
    const response = await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: order.id } }, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.cancelOrder).toEqual({ order: { id: order.id, number: order.number, status: 'CANCELLED' }, userErrors: [] });
    const node = await system.gql(NODE_ORDER, { id: order.id }, { as: sub });
    expect(node.body.data.node.status).toBe('CANCELLED');
  });

  it('refuses to cancel an already cancelled order with ORDER_NOT_CANCELLABLE, carrying the order', async () => {
    const sub = freshSub();
    const order = await placeOrder(sub, [{ productId: productId('SKU-0001'), quantity: 1 }]);
    await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: order.id } }, { as: sub });
    const again = await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: order.id } }, { as: sub });
    expectNoErrors(again);
    expect(again.body.data.cancelOrder).toEqual({
      order: { id: order.id, number: order.number, status: 'CANCELLED' },
      userErrors: [{ code: 'ORDER_NOT_CANCELLABLE', message: expect.any(String), field: expect.anything() }],
    });
  });

  it("answers NOT_FOUND for another user's order and leaves it as it was", async () => {
    const owner = freshSub('owner');
    const other = freshSub('mallory');
    const order = await placeOrder(owner, [{ productId: productId('SKU-0001'), quantity: 1 }]);
    const response = await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: order.id } }, { as: other });
    expectNoErrors(response);
    expect(response.body.data.cancelOrder).toEqual({ order: null, userErrors: [{ code: 'NOT_FOUND', message: expect.any(String), field: expect.anything() }] });
    const node = await system.gql(NODE_ORDER, { id: order.id }, { as: owner });
    expect(node.body.data.node.status).toBe('PENDING');
  });

  it('answers NOT_FOUND for an id that is not an order', async () => {
    const sub = freshSub();
    const response = await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: productId('SKU-0001') } }, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.cancelOrder.order).toBeNull();
    expect(response.body.data.cancelOrder.userErrors.map((e: any) => e.code)).toEqual(['NOT_FOUND']);
  });

  it('refuses to cancel a shipped order with ORDER_NOT_CANCELLABLE', async () => {
    const sub = freshSub();
    const order = await placeOrder(sub, [{ productId: productId('SKU-0001'), quantity: 1 }]);
    await setOrderStatus(order.number, 'SHIPPED');
    const response = await system.gql(CANCEL_ORDER, { input: { idempotencyKey: randomUUID(), orderId: order.id } }, { as: sub });
    expectNoErrors(response);
    expect(response.body.data.cancelOrder).toEqual({
      order: { id: order.id, number: order.number, status: 'SHIPPED' },
      userErrors: [{ code: 'ORDER_NOT_CANCELLABLE', message: expect.any(String), field: expect.anything() }],
    });
  });
});

describe('catalog admin changes show through the BFF', () => {
  const suffix = randomBytes(4).toString('hex');

  it('PUT creates a product (201), visible through product(id) and products(search)', async () => {
    const sku = 'NEW-1';
    const name = `Zephyr Kite ${suffix}`;
    const created = await putProduct(sku, { name, description: 'A kite.', priceCents: 1299, currency: 'EUR' });
    expect(created.status).toBe(201);

    const product = await system.gql(PRODUCT, { id: productId(sku) });
    expectNoErrors(product);
    expect(product.body.data.product).toEqual({ id: productId(sku), sku, name, description: 'A kite.', price: { amount: 1299, currency: 'EUR' } });

    const search = await system.gql(`query($s: String) { products(first: 10, search: $s) { edges { node { sku name } } } }`, { s: `zephyr kite ${suffix}` });
    expectNoErrors(search);
    expect(search.body.data.products.edges.map((e: any) => e.node)).toEqual([{ sku, name }]);
  });

  it('a second PUT updates (200) and the new name and price show in the BFF', async () => {
    const sku = `NEW-2-${suffix}`;
    expect((await putProduct(sku, { name: `Zephyr Sail ${suffix}`, priceCents: 500, currency: 'EUR' })).status).toBe(201);
    expect((await putProduct(sku, { name: `Zephyr Mainsail ${suffix}`, priceCents: 750, currency: 'EUR' })).status).toBe(200);
    const product = await system.gql(PRODUCT, { id: productId(sku) });
    expectNoErrors(product);
    expect(product.body.data.product).toMatchObject({ name: `Zephyr Mainsail ${suffix}`, price: { amount: 750, currency: 'EUR' } });
  });

  it('DELETE removes the product: product(id) is null, without an error', async () => {
    const sku = `NEW-3-${suffix}`;
    expect((await putProduct(sku, { name: `Zephyr Gone ${suffix}`, priceCents: 100, currency: 'EUR' })).status).toBe(201);
    const deleted = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    const product = await system.gql(PRODUCT, { id: productId(sku) });
    expectNoErrors(product);
    expect(product.body.data.product).toBeNull();
  });

  it('an order line whose product was deleted shows product: null while the rest of the order resolves', async () => {
    const sku = `NEW-4-${suffix}`;
    expect((await putProduct(sku, { name: `Zephyr Short Lived ${suffix}`, priceCents: 900, currency: 'EUR' })).status).toBe(201);
    const sub = freshSub();
    const order = await placeOrder(sub, [
      { productId: productId('SKU-0001'), quantity: 1 },
      { productId: productId(sku), quantity: 2 },
    ]);
    expect((await fetch(`${system.serviceUrls.catalog}/products/${sku}`, { method: 'DELETE' })).status).toBe(204);

    const response = await system.gql(NODE_ORDER, { id: order.id }, { as: sub });
    expectNoErrors(response);
    const node = response.body.data.node;
    expect(node.number).toBe(order.number);
    expect(node.total).toEqual(order.total);
    expect(node.lines[0].product).toMatchObject({ sku: 'SKU-0001', name: 'Amber Backpack' });
    expect(node.lines[1]).toEqual({ quantity: 2, unitPrice: { amount: 900, currency: 'EUR' }, product: null });
  });
});
