import { integer, pgSchema, text, timestamp } from 'drizzle-orm/pg-core';

export const usersSchema = pgSchema('users');

/**
 * One row per user, keyed by the token's `sub`. `version` counts changes to the profile;
 * each `*_version` is the version at which that field last changed, for field-level merges.
 */
export const users = usersSchema.table('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  email: text('email'),
  avatarUrl: text('avatar_url'),
  version: integer('version').notNull().default(1),
  nameVersion: integer('name_version').notNull().default(1),
  emailVersion: integer('email_version').notNull().default(1),
  avatarUrlVersion: integer('avatar_url_version').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
});

export type UserRow = typeof users.$inferSelect;
