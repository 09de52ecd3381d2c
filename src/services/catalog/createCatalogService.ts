import { join } from 'node:path';
import { eq, getTableColumns, ilike, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Bus } from '../../bus/index.js';
import { PRODUCT_RESOURCE_FIELDS, type ChangesResponse, type ProductResource } from '../../contracts/index.js';
import { migrate, type Database } from '../../db/index.js';
import { projectRoot } from '../../util/projectRoot.js';
import { formatPosition, parseChangesQuery, purgeTombstones, readChanges, type ChangeFeed } from '../changes/index.js';
import { createServiceApp, parseBody, parseIds, reject } from '../http/createServiceApp.js';
import { keysetPage, parseKeysetQuery, type KeysetOrdering } from '../http/keysetPage.js';
import { products, type ProductRow } from './catalogTables.js';

/** The catalog's change feed: products, and tombstones of deleted ones (migration 0001). */
export const productChangeFeed: ChangeFeed = { name: 'products', schema: 'catalog', table: 'products', tombstones: 'product_tombstones', key: 'sku' };

export interface CatalogServiceOptions {
  database: Database;
  bus: Bus;
  /** How long a deleted product's tombstone is kept for the change feed, in days. @default 30 */
  tombstoneRetentionDays?: number;
}

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

const RESOURCE_FIELDS: ReadonlySet<string> = new Set(PRODUCT_RESOURCE_FIELDS);

/** The `fields=` of a batch read: the resource's fields to answer besides `sku`, or a message. */
function parseFields(raw: unknown): (keyof ProductResource)[] | string {
  // A repeated `fields=` arrives as an array.
  if (typeof raw !== 'string') return 'fields: expected one comma-separated list';
  const fields = raw === '' ? [] : raw.split(',');
  const unknown = fields.find((field) => !RESOURCE_FIELDS.has(field));
  if (unknown !== undefined || fields.length > RESOURCE_FIELDS.size) {
    return `fields: expected comma-separated names of ${PRODUCT_RESOURCE_FIELDS.join(', ')}, got ${JSON.stringify(unknown ?? raw).slice(0, 100)}`;
  }
  return fields as (keyof ProductResource)[];
}

/** A product with only its `sku` and `fields`. */
const project = (product: ProductResource, fields: readonly (keyof ProductResource)[]): Partial<ProductResource> => {
  const projected: Partial<ProductResource> = { sku: product.sku };
  for (const field of fields) (projected as Record<string, unknown>)[field] = product[field];
  return projected;
};

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
 * - `GET /products?ids=a,b[&fields=name,priceCents]` batch (unknown SKUs are absent from `items`;
 *   with `fields`, each item has its `sku` and those fields only);
 * - `GET /products?limit=&after=&before=&direction=&search=` keyset list ordered by (name, sku);
 * - `GET /products/changes?since=&limit=[&head=1]` the change feed (`ChangesResponse`); `head=1` reads
 *   no rows, only where the feed stands now (where a live reader, e.g. the BFF's response cache, starts);
 * - `PUT /products/:sku` upsert, `DELETE /products/:sku` (admin);
 * - `POST /products/changes/purge` (admin) deletes the tombstones older than the retention now, as the hourly job does.
 */
export function createCatalogService({ database, bus, tombstoneRetentionDays = 30 }: CatalogServiceOptions) {
  const { db } = database;
  const app = createServiceApp('catalog');

  app.get<{ Querystring: Record<string, string | undefined> }>('/products', async (request, reply) => {
    const q = request.query;
    if (q.ids !== undefined) {
      request.statLabel = 'GET /products?ids';
      const ids = parseIds(q.ids);
      if (typeof ids === 'string') return reject(reply, 400, { code: 'INVALID_INPUT', message: ids });
      const fields = q.fields === undefined ? undefined : parseFields(q.fields);
      if (typeof fields === 'string') return reject(reply, 400, { code: 'INVALID_INPUT', field: 'fields', message: fields });
      const rows = await db.select().from(products).where(inArray(products.sku, ids));
      return { items: fields ? rows.map((row) => project(toProduct(row), fields)) : rows.map(toProduct) };
    }
    const keyset = parseKeysetQuery(q);
    if ('message' in keyset) return reject(reply, 400, { code: 'INVALID_INPUT', ...keyset });
    const filters: SQL[] = [];
    if (q.search) filters.push(ilike(products.name, `%${escapeLike(q.search.slice(0, 100))}%`));
    const page = await keysetPage<ProductRow>(db, products, byNameThenSku, {
      filters,
      ...keyset,
    });
    return { items: page.items.map(toProduct), hasNext: page.hasNext, hasPrevious: page.hasPrevious };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/products/changes', async (request, reply) => {
    const query = parseChangesQuery(request.query);
    if ('message' in query) return reject(reply, 400, { code: 'INVALID_INPUT', ...query });
    const page = await readChanges(db, productChangeFeed, { ...query, headOnly: request.query.head === '1' }, (tx, skus) => tx.select().from(products).where(inArray(products.sku, skus)), (row) => row.sku);
    if (page.status === 'expired') return reject(reply, 410, { code: 'SINCE_EXPIRED', field: 'since', message: page.message });
    return { updated: page.updated.map(toProduct), deleted: page.deleted, next: formatPosition(page.next), hasMore: page.hasMore, ...(page.held ? { held: true as const } : {}) } satisfies ChangesResponse<ProductResource>;
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
      // One statement: a separate read afterwards could find the row deleted in between.
      .returning({ ...getTableColumns(products), inserted: sql<boolean>`(xmax = 0)` });
    await bus.publish({ topic: 'products', sku });
    return reply.code(row!.inserted ? 201 : 200).send({ product: toProduct(row!) });
  });

  app.delete<{ Params: { sku: string } }>('/products/:sku', async (request, reply) => {
    const deleted = await db.delete(products).where(eq(products.sku, request.params.sku)).returning({ sku: products.sku });
    if (deleted.length === 0) return reject(reply, 404, { code: 'NOT_FOUND', message: `No product with SKU ${JSON.stringify(request.params.sku)}` });
    await bus.publish({ topic: 'products', sku: request.params.sku });
    return reply.code(204).send();
  });

  /** Deletes the tombstones older than the retention, as of `now`; resolves with how many. */
  const purge = (now = new Date()) => purgeTombstones(db, productChangeFeed, { olderThan: new Date(now.getTime() - tombstoneRetentionDays * 86_400_000) });
  app.post('/products/changes/purge', async () => ({ purged: await purge() }));

  return {
    name: 'catalog' as const,
    app,
    migrate: () => migrate(database, { schema: 'catalog', folder: join(projectRoot(), 'src/services/catalog/migrations') }),
    /** The tombstone purge, which the services' hourly job runs. */
    purgeTombstones: purge,
  };
}
