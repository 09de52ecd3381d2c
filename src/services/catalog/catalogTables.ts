import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';
import { xid8 } from '../../db/index.js';

export const catalogSchema = pgSchema('catalog');

export const products = catalogSchema.table(
  'products',
  {
    sku: text('sku').primaryKey(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    priceCents: integer('price_cents').notNull(),
    currency: text('currency').notNull(),
    imageUrl: text('image_url'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** Position in the change feed, set by trigger on every insert and update (migration 0001). */
    changeXid: xid8('change_xid').notNull().default(sql`pg_current_xact_id()`),
    changeSeq: bigint('change_seq', { mode: 'bigint' }).notNull().default(sql`nextval('catalog.product_change_seq')`),
  },
  (t) => [index('products_name_sku_idx').on(t.name, t.sku), index('products_change_idx').on(t.changeXid, t.changeSeq)],
);

/** A deleted product, kept for the change feed until the tombstone retention has passed. */
export const productTombstones = catalogSchema.table(
  'product_tombstones',
  {
    sku: text('sku').primaryKey(),
    changeXid: xid8('change_xid').notNull().default(sql`pg_current_xact_id()`),
    changeSeq: bigint('change_seq', { mode: 'bigint' }).notNull().default(sql`nextval('catalog.product_change_seq')`),
    deletedAt: timestamp('deleted_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('product_tombstones_change_idx').on(t.changeXid, t.changeSeq), index('product_tombstones_deleted_at_idx').on(t.deletedAt)],
);

export type ProductRow = typeof products.$inferSelect;
