import { sql } from 'drizzle-orm';
import { selectRows } from '../../src/db/index.js';
import type { GraphQLResponse, TestSystem } from './startTestSystem.js';

export const PRODUCT_CHANGES = /* GraphQL */ `
  query($since: SyncToken, $first: Int) {
    productChanges(since: $since, first: $first) {
      updated { id sku name price { amount currency } }
      deletedIds
      syncToken
      hasMore
    }
  }
`;

export interface ReplicaProduct {
  sku: string;
  name: string;
  priceCents: number;
}

export interface ProductChangeSet {
  updated: { id: string; sku: string; name: string; price: { amount: number; currency: string } }[];
  deletedIds: string[];
  syncToken: string;
  hasMore: boolean;
}

/**
 * A phone's local copy of the catalog, kept by the sync loop of the README: one token, each
 * change set applied (updates, then deletions) before its token is stored, `hasMore` followed.
 */
export function createProductReplica(system: Pick<TestSystem, 'gql'>) {
  const rows = new Map<string, ReplicaProduct>();
  let token: string | null = null;
  return {
    /** By global ID. */
    rows,
    get token() {
      return token;
    },
    /** One request; applies the change set and stores its token. Throws on an error. */
    async pullPage(first?: number): Promise<ProductChangeSet> {
      const response: GraphQLResponse = await system.gql(PRODUCT_CHANGES, { since: token, first });
      if (response.body.errors) throw new Error(`productChanges failed: ${JSON.stringify(response.body.errors)}`);
      const page: ProductChangeSet = response.body.data.productChanges;
      for (const p of page.updated) rows.set(p.id, { sku: p.sku, name: p.name, priceCents: p.price.amount });
      for (const id of page.deletedIds) rows.delete(id);
      token = page.syncToken;
      return page;
    },
    /** Pulls until `hasMore` is false; resolves with every page. */
    async sync(first?: number): Promise<ProductChangeSet[]> {
      const pages: ProductChangeSet[] = [];
      do {
        pages.push(await this.pullPage(first));
        if (pages.length > 10_000) throw new Error('the sync does not end');
      } while (pages.at(-1)!.hasMore);
      return pages;
    },
  };
}

export type ProductReplica = ReturnType<typeof createProductReplica>;

export const productId = (sku: string) => Buffer.from(`1:Product:${sku}`).toString('base64url');

/** What the catalog holds now, read from its table, keyed like a replica. */
export async function sourceProducts(system: Pick<TestSystem, 'database'>): Promise<Map<string, ReplicaProduct>> {
  const rows = await selectRows<{ sku: string; name: string; price_cents: number }>(system.database.db, sql`SELECT sku, name, price_cents FROM catalog.products`);
  return new Map(rows.map((r) => [productId(r.sku), { sku: r.sku, name: r.name, priceCents: r.price_cents }]));
}
