import { index, integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

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
  },
  (t) => [index('products_name_sku_idx').on(t.name, t.sku)],
);

export type ProductRow = typeof products.$inferSelect;
