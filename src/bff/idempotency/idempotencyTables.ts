import { index, jsonb, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** The BFF's own schema; its migrations are `src/bff/migrations/`. */
export const bffSchema = pgSchema('bff');

export type IdempotencyState = 'running' | 'done';

/**
 * One row per (user, mutation field, client key). `requestId` names the logical request across
 * its retries (the downstream write carries it); `owner` names the attempt that holds the lock
 * until `lockedUntil`; `result` is the field's outcome once `done`.
 */
export const idempotencyKeys = bffSchema.table(
  'idempotency_keys',
  {
    userId: text('user_id').notNull(),
    field: text('field').notNull(),
    key: text('key').notNull(),
    requestId: uuid('request_id').notNull(),
    fingerprint: text('fingerprint').notNull(),
    state: text('state').$type<IdempotencyState>().notNull(),
    owner: uuid('owner'),
    lockedUntil: timestamp('locked_until', { withTimezone: true, precision: 3 }).notNull(),
    result: jsonb('result'),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.field, t.key] }), index('idempotency_keys_expires_at_idx').on(t.expiresAt)],
);

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
