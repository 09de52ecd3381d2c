import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

const SCREEN = /* GraphQL */ `
  query OrderList($first: Int!) {
    viewer {
      orders(first: $first) {
        edges { node { number customer { name } lines { quantity product { name } } } }
      }
    }
  }
`;

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

describe('downstream batching (one call per resource per level)', () => {
  it.each([5, 20, 50, 60])('makes one orders, one users and one products call for %i orders with customers and products', async (first) => {
    let response!: GraphQLResponse;
    const calls = await system.countCalls(async () => {
      response = await system.gql(SCREEN, { first }, { as: 'demo' });
    });
    expect(response.body.errors).toBeUndefined();
    const edges = response.body.data.viewer.orders.edges;
    expect(edges).toHaveLength(first);
    const lines = edges.flatMap((e: any) => e.node.lines);
    expect(lines.length).toBeGreaterThan(first * 2);
    expect(lines.every((l: any) => typeof l.product.name === 'string')).toBe(true);
    expect(edges.every((e: any) => e.node.customer.name === 'Demo User')).toBe(true);
    expect(calls).toEqual({
      users: { 'POST /users/ensure': 1 },
      orders: { 'GET /orders': 1 },
      catalog: { 'GET /products?ids': 1 },
      notifications: {},
    });
  });

  it('batches the customers of many orders into one users call when the viewer is not among them', async () => {
    const ids = ['D000001', 'D000002', 'D000003'].map((n) => Buffer.from(`1:Order:${n}`).toString('base64url'));
    let response!: GraphQLResponse;
    const calls = await system.countCalls(async () => {
      response = await system.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Order { number customer { name } lines { product { sku } } } } }`, { ids }, { as: 'demo' });
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.nodes.map((n: any) => n.number)).toEqual(['D000001', 'D000002', 'D000003']);
    expect(calls).toEqual({
      users: { 'GET /users?ids': 1 },
      orders: { 'GET /orders?ids': 1 },
      catalog: { 'GET /products?ids': 1 },
      notifications: {},
    });
  });
});

describe('/metrics', () => {
  it('counts downstream calls by service, route and status, and times HTTP requests', async () => {
    await system.gql(SCREEN, { first: 5 }, { as: 'demo' });
    const text = await (await fetch(system.url.replace('/graphql', '/metrics'))).text();
    expect(text).toMatch(/^bff_downstream_requests_total\{service="orders",route="GET \/orders",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^bff_downstream_requests_total\{service="catalog",route="GET \/products\?ids",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^bff_http_request_duration_seconds_count\{endpoint="\/graphql",method="POST",status="200"\} [1-9]\d*$/m);
  });
});
