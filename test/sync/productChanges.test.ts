import { randomBytes } from 'node:crypto';
import { encodeSyncToken } from '../../src/bff/sync/syncToken.js';
import { demoProducts, seedDemoData } from '../../src/services/seed/seedDemoData.js';
import { createProductReplica, PRODUCT_CHANGES, productId, sourceProducts, type ProductChangeSet } from '../support/productReplica.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';
import { waitUntil } from '../support/waitUntil.js';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const tag = () => randomBytes(4).toString('hex');

async function putProduct(sku: string, name: string, priceCents = 100) {
  const response = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, priceCents, currency: 'EUR' }),
  });
  expect([200, 201]).toContain(response.status);
}

async function deleteProduct(sku: string) {
  const response = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, { method: 'DELETE' });
  expect(response.status).toBe(204);
}

async function pull(since: string | null, first?: number): Promise<ProductChangeSet> {
  const response = await system.gql(PRODUCT_CHANGES, { since, first });
  expect(response.body.errors).toBeUndefined();
  return response.body.data.productChanges;
}

/**
 * `pull`, repeated until the page holds `count` changes (by default a full page). On PostgreSQL a
 * page stops short of changes committed while an older transaction still ran (the system's own
 * background work, say): they are held back, never skipped, and come once it has finished.
 * Pulling changes nothing.
 */
const pullOf = (since: string | null, first: number, count = first) =>
  waitUntil(async () => {
    const page = await pull(since, first);
    return page.updated.length >= count ? page : undefined;
  }, { what: `a page of ${count} changes` });

/** A token at the end of the feed: a replica that has synced everything. */
async function currentToken(): Promise<string> {
  const replica = createProductReplica(system);
  await replica.sync(1000);
  return replica.token!;
}

function errorCodes(response: GraphQLResponse) {
  return response.body.errors?.map((e) => e.extensions?.code);
}

describe('productChanges: full sync', () => {
  it('gives every product with since: null, following hasMore, and no deletions', async () => {
    const replica = createProductReplica(system);
    const pages = await replica.sync(64);
    expect(pages.map((p) => p.updated.length)).toEqual([64, 64, 64, 8]);
    expect(pages.map((p) => p.hasMore)).toEqual([true, true, true, false]);
    expect(pages.flatMap((p) => p.deletedIds)).toEqual([]);
    expect(new Set([...replica.rows.values()].map((p) => p.sku))).toEqual(new Set(demoProducts().map((p) => p.sku)));
  });

  it('ends with a replica equal to the catalog table', async () => {
    const replica = createProductReplica(system);
    await replica.sync();
    expect(replica.rows).toEqual(await sourceProducts(system));
  });

  it('costs one catalog call per pull and no batch calls', async () => {
    const calls = await system.countCalls(() => pull(null, 50));
    expect(calls.catalog).toEqual({ 'GET /products/changes': 1 });
  });
});

describe('productChanges: changes after a token', () => {
  it('returns a product created with PUT /products/{sku}', async () => {
    const since = await currentToken();
    const sku = `NEW-${tag()}`;
    await putProduct(sku, 'New Product', 250);
    const page = await pull(since);
    expect(page.updated).toEqual([{ id: productId(sku), sku, name: 'New Product', price: { amount: 250, currency: 'EUR' } }]);
    expect(page.deletedIds).toEqual([]);
    expect(page.hasMore).toBe(false);
  });

  it('returns a product changed with PUT /products/{sku} with its new values', async () => {
    const sku = `CHG-${tag()}`;
    await putProduct(sku, 'Before', 100);
    const since = await currentToken();
    await putProduct(sku, 'After', 120);
    const page = await pull(since);
    expect(page.updated.map((p) => [p.sku, p.name, p.price.amount])).toEqual([[sku, 'After', 120]]);
  });

  it('returns a product deleted with DELETE /products/{sku} in deletedIds only', async () => {
    const sku = `DEL-${tag()}`;
    await putProduct(sku, 'Doomed');
    const since = await currentToken();
    await deleteProduct(sku);
    const page = await pull(since);
    expect(page.deletedIds).toEqual([productId(sku)]);
    expect(page.updated).toEqual([]);
  });

  it('returns a product deleted and created again after the token as updated only', async () => {
    const sku = `BACK-${tag()}`;
    await putProduct(sku, 'First life');
    const since = await currentToken();
    await deleteProduct(sku);
    await putProduct(sku, 'Second life');
    const page = await pull(since);
    expect(page.updated.map((p) => [p.sku, p.name])).toEqual([[sku, 'Second life']]);
    expect(page.deletedIds).toEqual([]);
  });

  it('returns a product created and deleted after the token as a deletion only', async () => {
    const since = await currentToken();
    const sku = `BRIEF-${tag()}`;
    await putProduct(sku, 'Brief');
    await deleteProduct(sku);
    const page = await pull(since);
    expect(page.updated).toEqual([]);
    expect(page.deletedIds).toEqual([productId(sku)]);
  });

  it('reports nothing after the demo data is seeded again: seeding leaves existing products as they are', async () => {
    const since = await currentToken();
    await seedDemoData(system.database, { catalog: true });
    const page = await pull(since);
    expect([page.updated, page.deletedIds]).toEqual([[], []]);
  });

  it('answers a pull without changes with empty lists and hasMore false, in a body of at most 200 bytes', async () => {
    const since = await currentToken();
    const response = await fetch(system.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($s:SyncToken){productChanges(since:$s){updated{id} deletedIds syncToken hasMore}}', variables: { s: since } }),
    });
    const body = await response.text();
    const { data } = JSON.parse(body);
    expect(data.productChanges).toEqual({ updated: [], deletedIds: [], syncToken: expect.any(String), hasMore: false });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(200);
  });

  it('never hands out a token behind changes already delivered: pulling again from it repeats nothing', async () => {
    const since = await currentToken();
    const sku = `ONCE-${tag()}`;
    await putProduct(sku, 'Once');
    const delivered = await pull(since);
    expect(delivered.updated.map((p) => p.sku)).toEqual([sku]);
    let token = delivered.syncToken;
    for (let i = 0; i < 3; i++) {
      const again = await pull(token);
      expect(again.updated).toEqual([]);
      expect(again.deletedIds).toEqual([]);
      token = again.syncToken;
    }
  });
});

describe('productChanges: pages', () => {
  async function threeNewProducts() {
    const since = await currentToken();
    const t = tag();
    const skus = ['A', 'B', 'C'].map((letter) => `PG-${t}-${letter}`);
    for (const sku of skus) await putProduct(sku, sku);
    return { since, skus };
  }

  it('gives a page exactly as large as the changes with hasMore false', async () => {
    const { since, skus } = await threeNewProducts();
    const page = await pull(since, 3);
    expect(page.updated.map((p) => p.sku)).toEqual(skus);
    expect(page.hasMore).toBe(false);
  });

  it('sets hasMore when more changes wait than first, and resumes right after the last row of the page', async () => {
    const { since, skus } = await threeNewProducts();
    const first = await pullOf(since, 2);
    expect(first.updated.map((p) => p.sku)).toEqual(skus.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const second = await pullOf(first.syncToken, 2, 1);
    expect(second.updated.map((p) => p.sku)).toEqual(skus.slice(2));
    expect(second.hasMore).toBe(false);
  });

  it('pages one change at a time through every change, in change order', async () => {
    const { since, skus } = await threeNewProducts();
    const seen: string[] = [];
    let token = since;
    let hasMore = true;
    let pulls = 0;
    while (hasMore) {
      const page = await pull(token, 1);
      seen.push(...page.updated.map((p) => p.sku));
      ({ syncToken: token, hasMore } = page);
      if (++pulls > 10) throw new Error('the walk does not end');
    }
    expect(seen).toEqual(skus);
    expect(pulls).toBe(3);
  });

  it('resumes after a full page without skipping what changed between pages: a row sent again, a new row', async () => {
    const { since, skus } = await threeNewProducts();
    const first = await pullOf(since, 2);
    expect(first.updated.map((p) => p.sku)).toEqual(skus.slice(0, 2));
    await putProduct(skus[0]!, 'Renamed');
    const newer = `${skus[0]}-NEW`;
    await putProduct(newer, 'Newer');
    const rest = await pullOf(first.syncToken, 10, 3);
    expect(rest.updated.map((p) => [p.sku, p.name])).toEqual([
      [skus[2], skus[2]],
      [skus[0], 'Renamed'],
      [newer, 'Newer'],
    ]);
  });

  it('keeps updates and deletions in change order across pages', async () => {
    const t = tag();
    const [a, b, c] = ['A', 'B', 'C'].map((letter) => `ORD-${t}-${letter}`) as [string, string, string];
    await putProduct(a, 'A');
    await putProduct(b, 'B');
    const since = await currentToken();
    await putProduct(a, 'A2');
    await deleteProduct(b);
    await putProduct(c, 'C');
    const pages = [];
    let token = since;
    for (let i = 0; i < 3; i++) {
      const page = await pull(token, 1);
      pages.push({ updated: page.updated.map((p) => p.name), deletedIds: page.deletedIds, hasMore: page.hasMore });
      token = page.syncToken;
    }
    expect(pages).toEqual([
      { updated: ['A2'], deletedIds: [], hasMore: true },
      { updated: [], deletedIds: [productId(b)], hasMore: true },
      { updated: ['C'], deletedIds: [], hasMore: false },
    ]);
  });

  it.each([0, -1, 1001])('refuses first: %s with BAD_USER_INPUT', async (first) => {
    const response = await system.gql(PRODUCT_CHANGES, { since: null, first });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.data.productChanges).toBeNull();
  });

  it('accepts first: 1000, the documented cap', async () => {
    const page = await pull(null, 1000);
    expect(page.updated.length).toBe((await sourceProducts(system)).size);
  });
});

describe('productChanges: bad tokens', () => {
  it('refuses a garbled token with INVALID_SYNC_TOKEN on that field only; the rest of the response resolves', async () => {
    const response = await system.gql(/* GraphQL */ `
      query { productChanges(since: "not-a-token!") { syncToken } products(first: 1) { edges { node { sku } } } }
    `);
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
    expect(response.body.errors![0]!.path).toEqual(['productChanges']);
    expect(response.body.errors![0]!.message).toMatch(/since: null/);
    expect(response.body.data.productChanges).toBeNull();
    expect(response.body.data.products.edges).toHaveLength(1);
  });

  it('refuses a token with a cut-off end with INVALID_SYNC_TOKEN', async () => {
    const valid = await currentToken();
    const response = await system.gql(PRODUCT_CHANGES, { since: valid.slice(0, -3) });
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
  });

  it('refuses a token with one character changed with INVALID_SYNC_TOKEN', async () => {
    const valid = await currentToken();
    const i = valid.length - 6;
    const changed = valid.slice(0, i) + (valid[i] === 'A' ? 'B' : 'A') + valid.slice(i + 1);
    const response = await system.gql(PRODUCT_CHANGES, { since: changed });
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
  });

  it('refuses a well-formed token whose position the feed never issues with INVALID_SYNC_TOKEN', async () => {
    const response = await system.gql(PRODUCT_CHANGES, { since: encodeSyncToken('p', 'yesterday') });
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
  });

  it('refuses a token of the orders feed with INVALID_SYNC_TOKEN', async () => {
    const orders = await system.gql(`{ viewer { orderChanges(first: 1) { syncToken } } }`, {}, { as: 'demo' });
    expect(orders.body.errors).toBeUndefined();
    const response = await system.gql(PRODUCT_CHANGES, { since: orders.body.data.viewer.orderChanges.syncToken });
    expect(errorCodes(response)).toEqual(['INVALID_SYNC_TOKEN']);
  });

  it('refuses a token ahead of this database (restored or replaced) with SYNC_TOKEN_EXPIRED', async () => {
    const response = await system.gql(PRODUCT_CHANGES, { since: encodeSyncToken('p', '999999999999.0') });
    expect(errorCodes(response)).toEqual(['SYNC_TOKEN_EXPIRED']);
  });
});
