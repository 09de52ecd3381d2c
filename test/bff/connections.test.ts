import { randomBytes } from 'node:crypto';
import { demoOrders, demoProducts } from '../../src/services/seed/seedDemoData.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

const PRODUCTS = /* GraphQL */ `
  query($first: Int, $after: String, $last: Int, $before: String, $search: String) {
    products(first: $first, after: $after, last: $last, before: $before, search: $search) {
      edges { cursor node { sku name } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

const ORDERS = /* GraphQL */ `
  query($first: Int, $after: String, $status: OrderStatus) {
    viewer {
      orders(first: $first, after: $after, status: $status) {
        edges { cursor node { number status createdAt } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
`;

/** The demo catalog as `products` must list it: by name, then SKU. */
const byNameThenSku = (a: { name: string; sku: string }, b: { name: string; sku: string }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0;
const expectedProducts = demoProducts()
  .map(({ sku, name }) => ({ sku, name }))
  .sort(byNameThenSku);

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

function expectNoErrors(response: GraphQLResponse) {
  expect(response.body.errors).toBeUndefined();
}

function errorCodes(response: GraphQLResponse) {
  return response.body.errors?.map((e) => e.extensions?.code);
}

async function putProduct(sku: string, name: string) {
  const response = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, priceCents: 100, currency: 'EUR' }),
  });
  expect(response.status).toBe(201);
}

async function deleteProduct(sku: string) {
  const response = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, { method: 'DELETE' });
  expect(response.status).toBe(204);
}

describe('products connection', () => {
  it('walks all 200 products exactly once, by (name, sku), in pages of 20, one list call per page and no batch calls', async () => {
    const seen: { sku: string; name: string }[] = [];
    let after: string | null = null;
    let pages = 0;
    let hasNextPage = true;
    const calls = await system.countCalls(async () => {
      while (hasNextPage) {
        const response: GraphQLResponse = await system.gql(PRODUCTS, { first: 20, after });
        expectNoErrors(response);
        const { edges, pageInfo } = response.body.data.products;
        pages += 1;
        expect(edges.length).toBeLessThanOrEqual(20);
        expect(pageInfo.hasPreviousPage).toBe(after !== null);
        seen.push(...edges.map((e: any) => e.node));
        ({ hasNextPage } = pageInfo);
        after = pageInfo.endCursor;
        if (pages > 20) throw new Error('the walk does not end');
      }
    });
    expect(pages).toBe(10);
    expect(seen).toEqual(expectedProducts);
    expect(new Set(seen.map((p) => p.sku)).size).toBe(200);
    expect(calls.catalog).toEqual({ 'GET /products': pages });
  });

  it('gives last: 5 the last 5 products in forward order, with hasPreviousPage true', async () => {
    const response = await system.gql(PRODUCTS, { last: 5 });
    expectNoErrors(response);
    const { edges, pageInfo } = response.body.data.products;
    expect(edges.map((e: any) => e.node)).toEqual(expectedProducts.slice(-5));
    expect(pageInfo.hasPreviousPage).toBe(true);
    expect(pageInfo.startCursor).toBe(edges[0].cursor);
    expect(pageInfo.endCursor).toBe(edges[4].cursor);
  });

  it('walks backward with last and before, each page in forward order, ending with hasPreviousPage false', async () => {
    const pagesSeen: { sku: string; name: string }[][] = [];
    let before: string | null = null;
    let hasPreviousPage = true;
    while (hasPreviousPage) {
      const response: GraphQLResponse = await system.gql(PRODUCTS, { last: 30, before });
      expectNoErrors(response);
      const { edges, pageInfo } = response.body.data.products;
      pagesSeen.unshift(edges.map((e: any) => e.node));
      expect(pageInfo.hasNextPage).toBe(before !== null);
      ({ hasPreviousPage } = pageInfo);
      before = pageInfo.startCursor;
      if (pagesSeen.length > 20) throw new Error('the walk does not end');
    }
    expect(pagesSeen.map((p) => p.length)).toEqual([20, 30, 30, 30, 30, 30, 30]);
    expect(pagesSeen.flat()).toEqual(expectedProducts);
  });

  it('gives first: 0 no edges and null start and end cursors', async () => {
    const response = await system.gql(PRODUCTS, { first: 0 });
    expectNoErrors(response);
    const { edges, pageInfo } = response.body.data.products;
    expect(edges).toEqual([]);
    expect(pageInfo.startCursor).toBeNull();
    expect(pageInfo.endCursor).toBeNull();
  });

  it("matches search 'amber' against the name, ignoring case", async () => {
    const response = await system.gql(PRODUCTS, { first: 100, search: 'amber' });
    expectNoErrors(response);
    const names: string[] = response.body.data.products.edges.map((e: any) => e.node.name);
    const expected = expectedProducts.filter((p) => p.name.toLowerCase().includes('amber'));
    expect(expected.length).toBeGreaterThan(0);
    expect(names).toEqual(expected.map((p) => p.name));
    expect(names.every((n) => /amber/i.test(n))).toBe(true);
    expect(response.body.data.products.pageInfo.hasNextPage).toBe(false);
  });

  it.each([
    ['first: 101', { first: 101 }],
    ['first: -1', { first: -1 }],
    ['last: 101', { last: 101 }],
    ['last: -1', { last: -1 }],
  ])('refuses %s with BAD_USER_INPUT', async (_label, args) => {
    const response = await system.gql(PRODUCTS, args);
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.data?.products ?? null).toBeNull();
  });

  it("refuses a cursor from search 'amber' reused without search with INVALID_CURSOR", async () => {
    const searched = await system.gql(PRODUCTS, { first: 2, search: 'amber' });
    expectNoErrors(searched);
    const cursor = searched.body.data.products.pageInfo.endCursor;
    expect(cursor).toEqual(expect.any(String));

    const reused = await system.gql(PRODUCTS, { first: 2, after: cursor });
    expect(errorCodes(reused)).toEqual(['INVALID_CURSOR']);
    expect(reused.body.data?.products ?? null).toBeNull();
  });

  it('refuses a cursor that is not one with INVALID_CURSOR', async () => {
    const response = await system.gql(PRODUCTS, { first: 2, after: 'not-a-cursor' });
    expect(errorCodes(response)).toEqual(['INVALID_CURSOR']);
  });

  it('keeps a cursor working after its row is deleted: the next page starts at the following row', async () => {
    const tag = `Cursorcheck${randomBytes(4).toString('hex')}`;
    const skus = ['A', 'B', 'C'].map((letter) => `CC-${tag}-${letter}`);
    for (const [i, sku] of skus.entries()) await putProduct(sku, `${tag} ${i + 1}`);
    try {
      const first = await system.gql(PRODUCTS, { first: 1, search: tag });
      expectNoErrors(first);
      expect(first.body.data.products.edges.map((e: any) => e.node.sku)).toEqual([skus[0]]);
      const cursor = first.body.data.products.pageInfo.endCursor;

      await deleteProduct(skus[0]!);

      const next = await system.gql(PRODUCTS, { first: 1, after: cursor, search: tag });
      expectNoErrors(next);
      expect(next.body.data.products.edges.map((e: any) => e.node.sku)).toEqual([skus[1]]);
      expect(next.body.data.products.pageInfo.hasNextPage).toBe(true);
    } finally {
      for (const sku of skus.slice(1)) await deleteProduct(sku);
    }
  });
});

describe('products connection: exact page flags in both directions', () => {
  const page = async (variables: Record<string, unknown>) => {
    const response = await system.gql(PRODUCTS, variables);
    expectNoErrors(response);
    return response.body.data.products;
  };

  it('says hasPreviousPage false on the first forward page and true on the next one', async () => {
    const first = await page({ first: 3 });
    expect(first.pageInfo).toEqual(expect.objectContaining({ hasPreviousPage: false, hasNextPage: true }));
    const second = await page({ first: 3, after: first.pageInfo.endCursor });
    expect(second.pageInfo).toEqual(expect.objectContaining({ hasPreviousPage: true, hasNextPage: true }));
  });

  it('says hasNextPage false on the last backward page and true on the one before it', async () => {
    const last = await page({ last: 3 });
    expect(last.pageInfo).toEqual(expect.objectContaining({ hasNextPage: false, hasPreviousPage: true }));
    const before = await page({ last: 3, before: last.pageInfo.startCursor });
    expect(before.pageInfo).toEqual(expect.objectContaining({ hasNextPage: true, hasPreviousPage: true }));
    expect(before.edges.map((e: any) => e.node.sku)).toEqual(expectedProducts.slice(-6, -3).map((p) => p.sku));
  });

  it('answers first after the very last cursor with an empty page, null cursors, hasNextPage false and hasPreviousPage true', async () => {
    const last = await page({ last: 1 });
    const beyond = await page({ first: 5, after: last.pageInfo.endCursor });
    expect(beyond.edges).toEqual([]);
    expect(beyond.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
  });

  it('tells from first: 0 whether rows follow the cursor', async () => {
    const start = await page({ first: 0 });
    expect(start.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: null, endCursor: null });
    const last = await page({ last: 1 });
    const end = await page({ first: 0, after: last.pageInfo.endCursor });
    expect(end.pageInfo.hasNextPage).toBe(false);
  });

  it('returns the rows between after and before when both are given; hasNextPage counts only the window, as the spec says for first', async () => {
    const all = await page({ first: 10 });
    const between = await page({ first: 100, after: all.edges[2].cursor, before: all.edges[7].cursor });
    expect(between.edges.map((e: any) => e.node.sku)).toEqual(expectedProducts.slice(3, 7).map((p) => p.sku));
    expect(between.pageInfo).toEqual(expect.objectContaining({ hasPreviousPage: true, hasNextPage: false }));
    const narrow = await page({ first: 2, after: all.edges[2].cursor, before: all.edges[7].cursor });
    expect(narrow.pageInfo.hasNextPage).toBe(true);
  });

  it('gives an empty result with hasNextPage false for a search that matches nothing', async () => {
    const none = await page({ first: 5, search: 'no product is called this' });
    expect(none).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });
});

describe('viewer.orders connection', () => {
  const demo = demoOrders();

  it('lists the newest first (createdAt descending)', async () => {
    const response = await system.gql(ORDERS, { first: 10 }, { as: 'demo' });
    expectNoErrors(response);
    const nodes = response.body.data.viewer.orders.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(10);
    const times = nodes.map((n: any) => Date.parse(n.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(nodes[0].number).toBe('D000060');
  });

  it.each(['PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'])('filters by status %s, returning only orders of that status', async (status) => {
    const response = await system.gql(ORDERS, { first: 100, status }, { as: 'demo' });
    expectNoErrors(response);
    const nodes = response.body.data.viewer.orders.edges.map((e: any) => e.node);
    expect(nodes.every((n: any) => n.status === status)).toBe(true);
    const expected = demo.filter((o) => o.status === status).map((o) => o.number).sort().reverse();
    expect(nodes.map((n: any) => n.number)).toEqual(expected);
  });

  it('walks all 60 demo orders in pages of 25, each exactly once, newest first', async () => {
    const numbers: string[] = [];
    const createdAts: number[] = [];
    let after: string | null = null;
    let hasNextPage = true;
    let pages = 0;
    while (hasNextPage) {
      const response: GraphQLResponse = await system.gql(ORDERS, { first: 25, after }, { as: 'demo' });
      expectNoErrors(response);
      const { edges, pageInfo } = response.body.data.viewer.orders;
      pages += 1;
      for (const e of edges) {
        numbers.push(e.node.number);
        createdAts.push(Date.parse(e.node.createdAt));
      }
      ({ hasNextPage } = pageInfo);
      after = pageInfo.endCursor;
      if (pages > 10) throw new Error('the walk does not end');
    }
    expect(pages).toBe(3);
    expect(numbers).toHaveLength(60);
    expect(new Set(numbers).size).toBe(60);
    expect([...numbers].sort()).toEqual(demo.map((o) => o.number).sort());
    expect([...createdAts].sort((a, b) => b - a)).toEqual(createdAts);
  });

  it("refuses a cursor of one status filter reused with another with INVALID_CURSOR", async () => {
    const pending = await system.gql(ORDERS, { first: 1, status: 'PENDING' }, { as: 'demo' });
    expectNoErrors(pending);
    const cursor = pending.body.data.viewer.orders.pageInfo.endCursor;
    const reused = await system.gql(ORDERS, { first: 1, after: cursor, status: 'SHIPPED' }, { as: 'demo' });
    expect(errorCodes(reused)).toEqual(['INVALID_CURSOR']);
  });
});
