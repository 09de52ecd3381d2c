import { join } from 'node:path';
import { eq, ilike, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Bus } from '../../bus/index.js';
import type { ProductResource } from '../../contracts/index.js';
import { migrate, type Database } from '../../db/index.js';
import { projectRoot } from '../../util/projectRoot.js';
import { createServiceApp, parseBody, parseIds, parseKeyset, parseLimit, reject } from '../http/createServiceApp.js';
import { keysetPage, type KeysetOrdering } from '../http/keysetPage.js';
import { products, type ProductRow } from './catalogTables.js';


const toProduct = (row: ProductRow): ProductResource => ({
  sku: row.sku,
  name: row.name,
  description: row.description,
  priceCents: row.priceCents,
  currency: row.currency,
  imageUrl: row.imageUrl,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
});

const productBody = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000).default(''),
  priceCents: z.number().int().min(0).max(100_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as "EUR"'),
  imageUrl: z.string().url().max(2000).nullish(),
});

/** The list ordering of `GET /products`: by name, then SKU. Index: products_name_sku_idx. */
export const byNameThenSku: KeysetOrdering = {
  columns: [products.name, products.sku],
  descending: false,
  position: (v) => sql`(${v[0]}::text, ${v[1]}::text)`,
};

const skuPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The catalog service. Its key is the SKU. Routes:
 * - `GET /products?ids=a,b` batch (unknown SKUs are absent from `items`);
 * - `GET /products?limit=&after=&before=&direction=&search=` keyset list ordered by (name, sku);
 * - `PUT /products/:sku` upsert, `DELETE /products/:sku` (admin).
 */
export function createCatalogService({ database, bus }: { database: Database; bus: Bus }) {
  const { db } = database;
  const app = createServiceApp('catalog');

  app.get<{ Querystring: Record<string, string | undefined> }>('/products', async (request, reply) => {
    const q = request.query;
    if (q.ids !== undefined) {
      request.statLabel = 'GET /products?ids';
      const ids = parseIds(q.ids);
      if (typeof ids === 'string') return reject(reply, 400, { code: 'INVALID_INPUT', message: ids });
      const rows = await db.select().from(products).where(inArray(products.sku, ids));
      return { items: rows.map(toProduct) };
    }
    const limit = parseLimit(q.limit);
    const after = parseKeyset(q.after, 2);
    const before = parseKeyset(q.before, 2);
    for (const [name, v] of [['limit', limit], ['after', after], ['before', before]] as const) {
      if (typeof v === 'string') return reject(reply, 400, { code: 'INVALID_INPUT', field: name, message: `${name}: ${v}` });
    }
    const filters: SQL[] = [];
    if (q.search) filters.push(ilike(products.name, `%${escapeLike(q.search.slice(0, 100))}%`));
    const page = await keysetPage<ProductRow>(db, products, byNameThenSku, {
      filters,
      after: after as unknown[] | undefined,
      before: before as unknown[] | undefined,
      backward: q.direction === 'backward',
      limit: limit as number,
    });
    return { items: page.items.map(toProduct), hasNext: page.hasNext, hasPrevious: page.hasPrevious };
  });

  app.put<{ Params: { sku: string } }>('/products/:sku', async (request, reply) => {
    const { sku } = request.params;
    if (!skuPattern.test(sku)) return reject(reply, 400, { code: 'INVALID_INPUT', field: 'sku', message: `sku: expected 1 to 64 letters, digits, ".", "_" or "-", got ${JSON.stringify(sku)}` });
    const body = parseBody(productBody, request.body, reply);
    if (!body) return reply;
    const values = { ...body, imageUrl: body.imageUrl ?? null };
    const [row] = await db
      .insert(products)
      .values({ sku, ...values })
      .onConflictDoUpdate({ target: products.sku, set: { ...values, updatedAt: sql`now()` } })
      .returning({ sku: products.sku, inserted: sql<boolean>`(xmax = 0)` });
    const [saved] = await db.select().from(products).where(eq(products.sku, row!.sku));
    await bus.publish({ topic: 'products', sku });
    return reply.code(row!.inserted ? 201 : 200).send({ product: toProduct(saved!) });
  });

  app.delete<{ Params: { sku: string } }>('/products/:sku', async (request, reply) => {
    const deleted = await db.delete(products).where(eq(products.sku, request.params.sku)).returning({ sku: products.sku });
    if (deleted.length === 0) return reject(reply, 404, { code: 'NOT_FOUND', message: `No product with SKU ${JSON.stringify(request.params.sku)}` });
    await bus.publish({ topic: 'products', sku: request.params.sku });
    return reply.code(204).send();
  });

  return {
    name: 'catalog' as const,
    app,
    migrate: () => migrate(database, { schema: 'catalog', folder: join(projectRoot(), 'src/services/catalog/migrations') }),
  };
}
