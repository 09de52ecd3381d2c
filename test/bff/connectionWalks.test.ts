import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { byNameThenSku } from '../../src/services/catalog/createCatalogService.js';
import { products } from '../../src/services/catalog/catalogTables.js';
import { keysetPageQuery } from '../../src/services/http/keysetPage.js';
import { newestFirst } from '../../src/services/orders/createOrdersService.js';
import { orders } from '../../src/services/orders/ordersTables.js';
import { selectRows } from '../../src/db/index.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';

// Walking a connection page by page while rows are inserted and deleted between pages, against the
// real services and database: no node twice, and every node that existed for the whole walk once.

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const rand = () => randomBytes(4).toString('hex');

async function call(url: string, method: string, body?: unknown) {
  const response = await fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  if (!response.ok) throw new Error(`${method} ${url} answered ${response.status}: ${await response.text()}`);
  return response.status === 204 ? undefined : ((await response.json()) as any);
}

type Op = { kind: 'insert'; suffix: string } | { kind: 'delete'; pick: number };
const suffix = fc.stringMatching(/^[a-e]{1,3}$/);
const op: fc.Arbitrary<Op> = fc.oneof(fc.record({ kind: fc.constant('insert' as const), suffix }), fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }));

const PRODUCTS = /* GraphQL */ `
  query($first: Int, $after: String, $last: Int, $before: String, $search: String) {
    products(first: $first, after: $after, last: $last, before: $before, search: $search) {
      edges { node { sku name } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

describe('walking products while rows come and go', () => {
  it('never repeats a product and never skips one that existed for the whole walk, forward or backward', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          initial: fc.array(suffix, { maxLength: 20 }),
          pageSize: fc.integer({ min: 1, max: 6 }),
          backward: fc.boolean(),
          between: fc.array(fc.array(op, { maxLength: 3 }), { maxLength: 15 }),
        }),
        async ({ initial, pageSize, backward, between }) => {
          // A prefix of its own makes each run a list of its own (search filters on it).
          const prefix = `walk${rand()}`;
          const live = new Map<string, string>();
          let n = 0;
          const insert = async (s: string) => {
            const sku = `${prefix}-${n++}`;
            const name = `${prefix}-${s}`;
            await call(`${system.serviceUrls.catalog}/products/${sku}`, 'PUT', { name, priceCents: 100, currency: 'EUR' });
            live.set(sku, name);
          };
          for (const s of initial) await insert(s);
          const stable = new Set(live.keys());

          const seen: { sku: string; name: string }[] = [];
          let cursor: string | null = null;
          for (let pageNo = 0; ; pageNo++) {
            const variables: Record<string, unknown> = backward ? { last: pageSize, before: cursor, search: prefix } : { first: pageSize, after: cursor, search: prefix };
            const { body }: GraphQLResponse = await system.gql(PRODUCTS, variables);
            expect(body.errors).toBeUndefined();
            const { edges, pageInfo } = body.data.products;
            const nodes = edges.map((e: any) => e.node);
            if (backward) seen.unshift(...nodes);
            else seen.push(...nodes);
            const more = backward ? pageInfo.hasPreviousPage : pageInfo.hasNextPage;
            if (!more) break;
            cursor = backward ? pageInfo.startCursor : pageInfo.endCursor;
            expect(pageNo).toBeLessThan(500);
            for (const change of between[pageNo] ?? []) {
              if (change.kind === 'insert') await insert(change.suffix);
              else if (live.size > 0) {
                const sku = [...live.keys()][change.pick % live.size]!;
                await call(`${system.serviceUrls.catalog}/products/${sku}`, 'DELETE');
                live.delete(sku);
                stable.delete(sku);
              }
            }
          }

          const skus = seen.map((p) => p.sku);
          expect(new Set(skus).size).toBe(skus.length);
          for (const sku of stable) expect(skus).toContain(sku);
          // Pages join up in list order: (name, sku) strictly increasing.
          for (let i = 1; i < seen.length; i++) {
            const [a, b] = [seen[i - 1]!, seen[i]!];
            expect(a.name < b.name || (a.name === b.name && a.sku < b.sku)).toBe(true);
          }
        },
      ),
      { numRuns: 30 },
    );
  }, 120_000);
});

const ORDERS = /* GraphQL */ `
  query($first: Int, $after: String, $last: Int, $before: String) {
    viewer {
      orders(first: $first, after: $after, last: $last, before: $before, status: PENDING) {
        edges { node { number createdAt } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
`;

describe('walking a status-filtered order list while orders are placed and change status', () => {
  type OrderOp = { kind: 'place' } | { kind: 'ship' | 'reopen'; pick: number };
  const orderOp: fc.Arbitrary<OrderOp> = fc.oneof(
    fc.constant({ kind: 'place' as const }),
    fc.record({ kind: fc.constantFrom('ship' as const, 'reopen' as const), pick: fc.nat() }),
  );

  it('never repeats an order and never skips one that stayed PENDING for the whole walk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          initial: fc.integer({ min: 0, max: 12 }),
          pageSize: fc.integer({ min: 1, max: 5 }),
          backward: fc.boolean(),
          between: fc.array(fc.array(orderOp, { maxLength: 3 }), { maxLength: 10 }),
        }),
        async ({ initial, pageSize, backward, between }) => {
          const user = `walker-${rand()}`;
          const status = new Map<string, string>();
          const place = async () => {
            const { order } = await call(`${system.serviceUrls.orders}/orders`, 'POST', { userId: user, currency: 'EUR', lines: [{ sku: 'SKU-0001', quantity: 1, unitPriceCents: 100 }] });
            status.set(order.number, 'PENDING');
          };
          const setStatus = async (number: string, to: string) => {
            await call(`${system.serviceUrls.orders}/orders/${number}/status`, 'POST', { status: to });
            status.set(number, to);
          };
          for (let i = 0; i < initial; i++) await place();
          const stable = new Set(status.keys());

          const seen: string[] = [];
          let cursor: string | null = null;
          for (let pageNo = 0; ; pageNo++) {
            const variables: Record<string, unknown> = backward ? { last: pageSize, before: cursor } : { first: pageSize, after: cursor };
            const { body }: GraphQLResponse = await system.gql(ORDERS, variables, { as: user });
            expect(body.errors).toBeUndefined();
            const { edges, pageInfo } = body.data.viewer.orders;
            const numbers = edges.map((e: any) => e.node.number);
            if (backward) seen.unshift(...numbers);
            else seen.push(...numbers);
            const more = backward ? pageInfo.hasPreviousPage : pageInfo.hasNextPage;
            if (!more) break;
            cursor = backward ? pageInfo.startCursor : pageInfo.endCursor;
            expect(pageNo).toBeLessThan(500);
            for (const change of between[pageNo] ?? []) {
              const all = [...status.keys()];
              if (change.kind === 'place') await place();
              else if (all.length > 0) {
                const number = all[change.pick % all.length]!;
                await setStatus(number, change.kind === 'ship' ? 'SHIPPED' : 'PENDING');
                stable.delete(number);
              }
            }
          }
          expect(new Set(seen).size).toBe(seen.length);
          for (const number of stable) expect(seen).toContain(number);
        },
      ),
      { numRuns: 20 },
    );
  }, 120_000);
});

describe('indexes', () => {
  /** The plan of `query` with sequential scans discouraged, so that a usable index shows. */
  async function plan(query: { getSQL(): ReturnType<typeof sql> }): Promise<string> {
    return system.database.withConnection(async (db) => {
      await db.execute(sql`SET enable_seqscan = off`);
      try {
        const rows = await selectRows<Record<string, string>>(db, sql`EXPLAIN ${query}`);
        return rows.map((r) => Object.values(r)[0]).join('\n');
      } finally {
        await db.execute(sql`RESET enable_seqscan`);
      }
    });
  }

  it('serves the products ordering from products_name_sku_idx, forward and backward, without sorting', async () => {
    const { db } = system.database;
    for (const backward of [false, true]) {
      const text = await plan(keysetPageQuery(db, products, byNameThenSku, { filters: [], after: ['Amber Candle', 'SKU-0021'], before: undefined, backward, limit: 21 }));
      expect(text).toMatch(/Index Scan.*products_name_sku_idx/);
      expect(text).not.toMatch(/Sort/);
    }
  });

  it("serves a user's orders, newest first, from orders_user_created_number_idx, without sorting", async () => {
    const { db } = system.database;
    for (const backward of [false, true]) {
      const text = await plan(
        keysetPageQuery(db, orders, newestFirst, { filters: [eq(orders.userId, 'demo')], after: ['2026-02-01T00:00:00.000Z', 'D000030'], before: undefined, backward, limit: 21 }),
      );
      expect(text).toMatch(/Index Scan.*orders_user_created_number_idx/);
      expect(text).not.toMatch(/Sort/);
    }
  });
});
