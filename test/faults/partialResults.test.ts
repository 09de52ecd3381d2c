import { toGlobalId } from '../../src/bff/ids/globalId.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// design.md §8: when one service is down, only the fields it feeds are null, each with
// DOWNSTREAM_UNAVAILABLE and its path; the rest of the screen still renders.
let system: SystemBehindProxies;
beforeAll(async () => {
  // The breaker has its own tests: here every call must reach the (dead) service.
  system = await startSystemBehindProxies({ BREAKER_MIN_REQUESTS: '100000' });
});
afterAll(() => system?.stop());

const ORDERS_SCREEN = `{
  viewer { name orders(first: 3) { edges { node { number customer { name } lines { quantity product { name } } } } } }
  products(first: 2) { edges { node { name } } }
}`;

type Error = { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> };
const paths = (errors: Error[] | undefined) => (errors ?? []).map((e) => e.path);
const codes = (errors: Error[] | undefined) => new Set((errors ?? []).map((e) => e.extensions?.code));

function expectNoInternals(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/stack|ECONNREFUSED|socket|127\.0\.0\.1|originalError/i);
}

describe('the catalog service killed', () => {
  beforeAll(() => system.kill('catalog'));
  afterAll(() => system.revive('catalog'));

  it('nulls products and every order line’s product, each with DOWNSTREAM_UNAVAILABLE at its path; viewer, orders and customers resolve', async () => {
    const { status, body } = await system.bff.gql(ORDERS_SCREEN, {}, { as: 'demo' });
    expect(status).toBe(200);
    expect(body.data.viewer.name).toBe('Demo User');
    const orders = body.data.viewer.orders.edges.map((e: any) => e.node);
    expect(orders).toHaveLength(3);
    const expectedPaths: (string | number)[][] = [['products']];
    orders.forEach((order: any, i: number) => {
      expect(order.customer).toEqual({ name: 'Demo User' });
      expect(order.lines.length).toBeGreaterThan(0);
      order.lines.forEach((line: any, j: number) => {
        expect(line.quantity).toBeGreaterThan(0);
        expect(line.product).toBeNull();
        expectedPaths.push(['viewer', 'orders', 'edges', i, 'node', 'lines', j, 'product']);
      });
    });
    expect(body.data.products).toBeNull();
    expect(paths(body.errors)).toEqual(expect.arrayContaining(expectedPaths));
    expect(body.errors).toHaveLength(expectedPaths.length);
    expect(codes(body.errors)).toEqual(new Set(['DOWNSTREAM_UNAVAILABLE']));
    expect(body.errors![0]!.extensions).toMatchObject({ service: 'catalog' });
    expect(body.errors![0]!.message).toBe('The catalog service is unavailable; try again later.');
    expectNoInternals(body);
  });
});

describe('the orders service killed', () => {
  beforeAll(() => system.kill('orders'));
  afterAll(() => system.revive('orders'));

  it('nulls viewer.orders with DOWNSTREAM_UNAVAILABLE at ["viewer", "orders"]; the viewer’s name and the products resolve', async () => {
    const { status, body } = await system.bff.gql(ORDERS_SCREEN, {}, { as: 'demo' });
    expect(status).toBe(200);
    expect(body.data.viewer).toEqual({ name: 'Demo User', orders: null });
    expect(body.data.products.edges).toHaveLength(2);
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['viewer', 'orders'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'orders' } });
    expectNoInternals(body);
  });
});

describe('the users service killed', () => {
  beforeAll(() => system.kill('users'));
  afterAll(() => system.revive('users'));

  it('nulls viewer with DOWNSTREAM_UNAVAILABLE at ["viewer"]; the products resolve', async () => {
    const { status, body } = await system.bff.gql(ORDERS_SCREEN, {}, { as: 'demo' });
    expect(status).toBe(200);
    expect(body.data.viewer).toBeNull();
    expect(body.data.products.edges).toHaveLength(2);
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['viewer'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'users' } });
  });

  it('nulls an order’s customer (nullable for this reason) while the order itself resolves', async () => {
    const { status, body } = await system.bff.gql('query($id: ID!) { node(id: $id) { ... on Order { number status customer { name } } } }', { id: toGlobalId('Order', 'D000001') }, { as: 'demo' });
    expect(status).toBe(200);
    expect(body.data.node).toEqual({ number: 'D000001', status: expect.any(String), customer: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['node', 'customer'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'users' } });
  });
});

describe('after the services come back', () => {
  it('answers the whole screen without errors', async () => {
    const { body } = await system.bff.gql(ORDERS_SCREEN, {}, { as: 'demo' });
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.orders.edges[0].node.lines[0].product.name).toEqual(expect.any(String));
  });
});
