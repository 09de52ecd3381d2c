import { randomBytes } from 'node:crypto';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

const globalId = (raw: string) => Buffer.from(raw).toString('base64url');
const productId = (sku: string) => globalId(`1:Product:${sku}`);
const orderId = (number: string) => globalId(`1:Order:${number}`);
const userId = (sub: string) => globalId(`1:User:${sub}`);
const freshSub = (name = 'alice') => `${name}-${randomBytes(6).toString('hex')}`;

const NODE = /* GraphQL */ `
  query($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Product { sku name }
      ... on Order { number status }
      ... on User { name }
    }
  }
`;

const NODES = /* GraphQL */ `
  query($ids: [ID!]!) {
    nodes(ids: $ids) {
      __typename
      id
      ... on Product { sku }
      ... on Order { number }
      ... on User { name }
    }
  }
`;

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

function expectNoErrors(response: GraphQLResponse) {
  expect(response.body.errors).toBeUndefined();
}

describe('node(id)', () => {
  it('resolves a Product', async () => {
    const response = await system.gql(NODE, { id: productId('SKU-0001') });
    expectNoErrors(response);
    expect(response.body.data.node).toEqual({ __typename: 'Product', id: productId('SKU-0001'), sku: 'SKU-0001', name: 'Amber Backpack' });
  });

  it("resolves an Order of the viewer", async () => {
    const response = await system.gql(NODE, { id: orderId('D000001') }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.node).toMatchObject({ __typename: 'Order', id: orderId('D000001'), number: 'D000001' });
  });

  it("resolves the viewer's own User", async () => {
    const viewer = await system.gql(`{ viewer { id } }`, {}, { as: 'demo' });
    expectNoErrors(viewer);
    const response = await system.gql(NODE, { id: viewer.body.data.viewer.id }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.node).toEqual({ __typename: 'User', id: viewer.body.data.viewer.id, name: 'Demo User' });
  });

  it('is null, without an error, for a well-formed id of an unknown product', async () => {
    const response = await system.gql(NODE, { id: productId('SKU-9999') }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });

  it('is null, without an error, for a well-formed id of an unknown order', async () => {
    const response = await system.gql(NODE, { id: orderId('X999999') }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });

  it.each([
    ['not-an-id', 'not-an-id'],
    ['the empty string', ''],
    ['an id of another format version', globalId('2:Product:SKU-0001')],
    ['an id of an unknown type', globalId('1:Nope:x')],
    ['an id without a key', globalId('1:Product:')],
    ['a plain service key', 'SKU-0001'],
    ['a standard-base64 (not base64url) id', Buffer.from('1:Product:SKU-0001').toString('base64') + '=='],
  ])('is null, without an error, for a malformed id: %s', async (_label, id) => {
    const response = await system.gql(NODE, { id }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });

  it("is null for another user's order", async () => {
    const response = await system.gql(NODE, { id: orderId('D000001') }, { as: freshSub('mallory') });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });

  it("is null for another user's User id", async () => {
    const response = await system.gql(NODE, { id: userId('demo') }, { as: freshSub('mallory') });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });

  it('is null for an Order when the request is anonymous', async () => {
    const response = await system.gql(NODE, { id: orderId('D000001') });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });

  it('is null for a User when the request is anonymous', async () => {
    const response = await system.gql(NODE, { id: userId('demo') });
    expectNoErrors(response);
    expect(response.body.data.node).toBeNull();
  });
});

describe('nodes(ids)', () => {
  it('keeps order and length with mixed types, null in place of unknown ids, and costs one batch call per type', async () => {
    const ids = [
      productId('SKU-0002'),
      orderId('D000002'),
      productId('SKU-9999'),
      userId('demo'),
      orderId('D000001'),
      'not-an-id',
      productId('SKU-0001'),
      orderId('X000000'),
      productId('SKU-0002'),
    ];
    let response!: GraphQLResponse;
    const calls = await system.countCalls(async () => {
      response = await system.gql(NODES, { ids }, { as: 'demo' });
    });
    expectNoErrors(response);
    const nodes = response.body.data.nodes;
    expect(nodes).toHaveLength(ids.length);
    expect(nodes).toEqual([
      { __typename: 'Product', id: ids[0], sku: 'SKU-0002' },
      { __typename: 'Order', id: ids[1], number: 'D000002' },
      null,
      { __typename: 'User', id: ids[3], name: 'Demo User' },
      { __typename: 'Order', id: ids[4], number: 'D000001' },
      null,
      { __typename: 'Product', id: ids[6], sku: 'SKU-0001' },
      null,
      { __typename: 'Product', id: ids[8], sku: 'SKU-0002' },
    ]);
    expect(calls.catalog).toEqual({ 'GET /products?ids': 1 });
    expect(calls.orders).toEqual({ 'GET /orders?ids': 1 });
  });

  it('resolves the other ids when one crafted id has a key with the batch separator (",") in it: that one is null, no errors', async () => {
    const ids = [productId('SKU-0001'), productId('x,'), productId('SKU-0002,SKU-0003'), orderId('D000001'), orderId('D000002,')];
    const response = await system.gql(NODES, { ids }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.nodes).toEqual([
      { __typename: 'Product', id: ids[0], sku: 'SKU-0001' },
      null,
      null,
      { __typename: 'Order', id: ids[3], number: 'D000001' },
      null,
    ]);
  });

  it('is an empty list for no ids', async () => {
    const response = await system.gql(NODES, { ids: [] }, { as: 'demo' });
    expectNoErrors(response);
    expect(response.body.data.nodes).toEqual([]);
  });

  it('accepts 100 ids', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => productId(`SKU-${String(i + 1).padStart(4, '0')}`));
    const response = await system.gql(NODES, { ids });
    expectNoErrors(response);
    expect(response.body.data.nodes.map((n: any) => n.sku)).toEqual(ids.map((_, i) => `SKU-${String(i + 1).padStart(4, '0')}`));
  });

  it('refuses 101 ids with BAD_USER_INPUT', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => productId(`SKU-${String(i + 1).padStart(4, '0')}`));
    const response = await system.gql(NODES, { ids });
    expect(response.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('global ids', () => {
  it('are opaque and stable: the id products lists for SKU-0001 is the id node returns', async () => {
    const list = await system.gql(`{ products(first: 1) { edges { node { id sku } } } }`);
    expectNoErrors(list);
    const listed = list.body.data.products.edges[0].node;
    expect(listed.sku).toBe('SKU-0001');
    const viaNode = await system.gql(NODE, { id: listed.id });
    expectNoErrors(viaNode);
    expect(viaNode.body.data.node.id).toBe(listed.id);
    const again = await system.gql(`{ products(first: 1) { edges { node { id } } } }`);
    expect(again.body.data.products.edges[0].node.id).toBe(listed.id);
  });

  it("are the same for an order whether read from viewer.orders or node", async () => {
    const list = await system.gql(`{ viewer { orders(first: 1) { edges { node { id number } } } } }`, {}, { as: 'demo' });
    expectNoErrors(list);
    const listed = list.body.data.viewer.orders.edges[0].node;
    const viaNode = await system.gql(NODE, { id: listed.id }, { as: 'demo' });
    expect(viaNode.body.data.node).toMatchObject({ id: listed.id, number: listed.number });
  });
});
