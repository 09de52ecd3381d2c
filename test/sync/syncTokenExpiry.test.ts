import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createInProcessBus } from '../../src/bus/index.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { selectRows } from '../../src/db/index.js';
import { startReferenceServices } from '../../src/services/startReferenceServices.js';
import { createProductReplica, PRODUCT_CHANGES, productId, sourceProducts } from '../support/productReplica.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

// Tombstones are kept TOMBSTONE_RETENTION_DAYS (30 by default); the services' purge job deletes
// older ones hourly, and `POST /<feed>/purge` runs it at once. The tests age a tombstone by
// moving its `deleted_at` back rather than waiting a month.

function errorCodes(response: GraphQLResponse) {
  return response.body.errors?.map((e) => e.extensions?.code);
}

const freshSku = () => `GONE-${randomBytes(4).toString('hex')}`;

function helpers(system: () => TestSystem) {
  return {
    async putProduct(sku: string) {
      const response = await fetch(`${system().serviceUrls.catalog}/products/${sku}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: sku, priceCents: 100, currency: 'EUR' }),
      });
      expect(response.status).toBe(201);
    },
    async deleteProduct(sku: string) {
      expect((await fetch(`${system().serviceUrls.catalog}/products/${sku}`, { method: 'DELETE' })).status).toBe(204);
    },
    async ageTombstone(sku: string, days: number) {
      await system().database.db.execute(sql`UPDATE catalog.product_tombstones SET deleted_at = now() - make_interval(days => ${days}) WHERE sku = ${sku}`);
    },
    async purge(service: 'catalog' | 'orders'): Promise<number> {
      const path = service === 'catalog' ? '/products/changes/purge' : '/orders/changes/purge';
      const response = await fetch(`${system().serviceUrls[service]}${path}`, { method: 'POST' });
      expect(response.status).toBe(200);
      return ((await response.json()) as { purged: number }).purged;
    },
    async currentToken() {
      const replica = createProductReplica(system());
      await replica.sync(1000);
      return replica.token!;
    },
  };
}

describe('sync tokens and the tombstone retention (30 days by default)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem();
  });
  afterAll(() => system?.stop());
  const { putProduct, deleteProduct, ageTombstone, purge, currentToken } = helpers(() => system);

  it('refuses a token older than a purged deletion with SYNC_TOKEN_EXPIRED, telling the client to wipe and sync again', async () => {
    const sku = freshSku();
    await putProduct(sku);
    const old = await currentToken();
    await deleteProduct(sku);
    await ageTombstone(sku, 31);
    expect(await purge('catalog')).toBe(1);

    const response = await system.gql(PRODUCT_CHANGES, { since: old });
    expect(errorCodes(response)).toEqual(['SYNC_TOKEN_EXPIRED']);
    expect(response.body.errors![0]!.message).toMatch(/wipe the local copy .* sync again with since: null/);
    expect(response.body.data.productChanges).toBeNull();
  });

  it('keeps accepting a token taken after the purged deletion', async () => {
    const sku = freshSku();
    await putProduct(sku);
    await deleteProduct(sku);
    const after = await currentToken();
    await ageTombstone(sku, 31);
    expect(await purge('catalog')).toBe(1);

    const response = await system.gql(PRODUCT_CHANGES, { since: after });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.productChanges.hasMore).toBe(false);
  });

  it('keeps a deletion younger than the retention: the purge leaves it and an older token still gets it', async () => {
    const sku = freshSku();
    await putProduct(sku);
    const old = await currentToken();
    await deleteProduct(sku);
    await ageTombstone(sku, 29);
    expect(await purge('catalog')).toBe(0);

    const response = await system.gql(PRODUCT_CHANGES, { since: old });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.productChanges.deletedIds).toEqual([productId(sku)]);
  });

  it('still gives a full sync with since: null after a purge, equal to the catalog', async () => {
    const sku = freshSku();
    await putProduct(sku);
    await deleteProduct(sku);
    await ageTombstone(sku, 31);
    await purge('catalog');
    const replica = createProductReplica(system);
    await replica.sync();
    expect(replica.rows.has(productId(sku))).toBe(false);
    expect(replica.rows).toEqual(await sourceProducts(system));
  });

  it('expires an orders token older than a purged order deletion, for every user (the horizon is per feed)', async () => {
    const sync = async (as: string, since: string | null) =>
      system.gql(`query($since: SyncToken) { viewer { orderChanges(since: $since, first: 1000) { syncToken } } }`, { since }, { as });
    const alice = `alice-${randomBytes(6).toString('hex')}`;
    const placed = await system.gql(
      `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } } }`,
      { input: { idempotencyKey: randomBytes(8).toString('hex'), lines: [{ productId: productId('SKU-0002'), quantity: 1 }] } },
      { as: alice },
    );
    const number: string = placed.body.data.placeOrder.order.number;
    const alicesToken = (await sync(alice, null)).body.data.viewer.orderChanges.syncToken;
    const demosToken = (await sync('demo', null)).body.data.viewer.orderChanges.syncToken;
    await system.database.db.execute(sql`DELETE FROM orders.orders WHERE number = ${number}`);
    await system.database.db.execute(sql`UPDATE orders.order_tombstones SET deleted_at = now() - interval '31 days' WHERE number = ${number}`);
    expect(await purge('orders')).toBe(1);

    expect(errorCodes(await sync(alice, alicesToken))).toEqual(['SYNC_TOKEN_EXPIRED']);
    expect(errorCodes(await sync('demo', demosToken))).toEqual(['SYNC_TOKEN_EXPIRED']);
  });
});

describe('TOMBSTONE_RETENTION_DAYS', () => {
  it('is 30 by default', () => {
    expect(loadConfig({}).tombstoneRetentionDays).toBe(30);
  });

  it.each(['0', '-1', '1.5', 'month'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ TOMBSTONE_RETENTION_DAYS: value })).toThrow(/TOMBSTONE_RETENTION_DAYS: expected a positive integer/);
  });

  describe('set to 7', () => {
    let system: TestSystem;
    beforeAll(async () => {
      system = await startTestSystem({ TOMBSTONE_RETENTION_DAYS: '7' });
    });
    afterAll(() => system?.stop());
    const { putProduct, deleteProduct, ageTombstone, purge } = helpers(() => system);

    it('purges a deletion 8 days old and keeps one 6 days old', async () => {
      const [older, younger] = [freshSku(), freshSku()];
      for (const sku of [older, younger]) {
        await putProduct(sku);
        await deleteProduct(sku);
      }
      await ageTombstone(older, 8);
      await ageTombstone(younger, 6);
      expect(await purge('catalog')).toBe(1);
      const left = await selectRows(system.database.db, sql`SELECT sku FROM catalog.product_tombstones WHERE sku IN (${older}, ${younger})`);
      expect(left).toEqual([{ sku: younger }]);
    });

    it('is applied by the purge job a catalog service runs when it starts', async () => {
      const sku = freshSku();
      await putProduct(sku);
      await deleteProduct(sku);
      await ageTombstone(sku, 8);
      // Another instance of the catalog on the same database: its job runs once at start, and stop() waits for that run.
      const another = await startReferenceServices({ database: system.database, bus: createInProcessBus(), names: ['catalog'], tombstoneRetentionDays: 7 });
      await another.stop();
      expect(await selectRows(system.database.db, sql`SELECT sku FROM catalog.product_tombstones WHERE sku = ${sku}`)).toEqual([]);
    });
  });
});
