import { boolean, index, pgSchema, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';

export const notificationsSchema = pgSchema('notifications');

export const devicePlatforms = ['IOS', 'ANDROID'] as const;
export type DevicePlatform = (typeof devicePlatforms)[number];

/**
 * The device registry: one row per (user, installation). A token belongs to one device at a
 * time (unique), so a token registered by another user moves to that user, and a rotated token
 * replaces the old one on the same row.
 */
export const devices = notificationsSchema.table(
  'devices',
  {
    userId: text('user_id').notNull(),
    installationId: text('installation_id').notNull(),
    platform: text('platform').$type<DevicePlatform>().notNull(),
    token: text('token').notNull(),
    appVersion: text('app_version'),
    locale: text('locale'),
    notifyOrderUpdates: boolean('notify_order_updates').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.installationId] }), uniqueIndex('devices_platform_token_idx').on(t.platform, t.token), index('devices_user_idx').on(t.userId)],
);

export type DeviceRow = typeof devices.$inferSelect;
