import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgSchema, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { xid8 } from '../../db/index.js';

export const ordersSchema = pgSchema('orders');

export const orderStatuses = ['PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const orders = ordersSchema.table(
  'orders',
  {
    number: text('number').primaryKey(),
    userId: text('user_id').notNull(),
    status: text('status').$type<OrderStatus>().notNull(),
    currency: text('currency').notNull(),
    totalCents: integer('total_cents').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** Position in the user's change feed, set by trigger on every insert and update (migration 0001). */
    changeXid: xid8('change_xid').notNull().default(sql`pg_current_xact_id()`),
    changeSeq: bigint('change_seq', { mode: 'bigint' }).notNull().default(sql`nextval('orders.order_change_seq')`),
    /** The key `POST /orders` was called with: a retry with the same user and key answers this order. */
    idempotencyKey: text('idempotency_key'),
    /** The key of the cancel that cancelled this order: a retry of that cancel answers success again. */
    cancelIdempotencyKey: text('cancel_idempotency_key'),
  },
  (t) => [
    index('orders_user_created_number_idx').on(t.userId, t.createdAt, t.number),
    index('orders_user_change_idx').on(t.userId, t.changeXid, t.changeSeq),
    uniqueIndex('orders_user_idempotency_key_idx').on(t.userId, t.idempotencyKey),
  ],
);

/** An order its user no longer has (deleted, or moved to another user), kept for that user's change feed. */
export const orderTombstones = ordersSchema.table(
  'order_tombstones',
  {
    userId: text('user_id').notNull(),
    number: text('number').notNull(),
    changeXid: xid8('change_xid').notNull().default(sql`pg_current_xact_id()`),
    changeSeq: bigint('change_seq', { mode: 'bigint' }).notNull().default(sql`nextval('orders.order_change_seq')`),
    deletedAt: timestamp('deleted_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.number] }),
    index('order_tombstones_user_change_idx').on(t.userId, t.changeXid, t.changeSeq),
    index('order_tombstones_deleted_at_idx').on(t.deletedAt),
  ],
);

export const orderLines = ordersSchema.table(
  'order_lines',
  {
    orderNumber: text('order_number')
      .notNull()
      .references(() => orders.number, { onDelete: 'cascade' }),
    lineNo: integer('line_no').notNull(),
    sku: text('sku').notNull(),
    quantity: integer('quantity').notNull(),
    unitPriceCents: integer('unit_price_cents').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orderNumber, t.lineNo] })],
);

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
