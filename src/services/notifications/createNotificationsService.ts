import { join } from 'node:path';
import { and, desc, eq, getTableColumns, ne, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Bus } from '../../bus/index.js';
import { deviceLimits, type DeviceResource } from '../../contracts/index.js';
import type { Logger } from 'pino';
import { createLogger } from '../../logging/createLogger.js';
import { migrate, type Database } from '../../db/index.js';
import { projectRoot } from '../../util/projectRoot.js';
import { createServiceApp, parseBody, reject } from '../http/createServiceApp.js';
import { createPushMetrics } from './createPushMetrics.js';
import { devicePlatforms, devices, type DeviceRow } from './notificationsTables.js';
import type { PushConfig } from './PushConfig.js';
import { startPushSending } from './startPushSending.js';

export interface NotificationsServiceOptions {
  database: Database;
  bus: Bus;
  /** How to send pushes; unset: the registry only, nothing is sent. */
  push?: PushConfig | undefined;
  logger?: Logger | undefined;
}

const toDevice = (row: DeviceRow): DeviceResource => ({
  installationId: row.installationId,
  platform: row.platform,
  appVersion: row.appVersion,
  locale: row.locale,
  notifyOrderUpdates: row.notifyOrderUpdates,
  updatedAt: row.updatedAt.toISOString(),
});

const userId = z.string().min(1).max(255);
const installationId = z.string().min(1, 'must not be empty').max(deviceLimits.installationId);
const registerBody = z.object({
  userId,
  installationId,
  platform: z.enum(devicePlatforms),
  token: z
    .string()
    .min(1, 'must not be empty')
    .max(deviceLimits.token)
    .regex(/^[\x21-\x7e]+$/, 'expected the token as the platform issued it (printable ASCII, no spaces)'),
  appVersion: z.string().max(deviceLimits.appVersion).nullable().optional(),
  locale: z.string().max(deviceLimits.locale).nullable().optional(),
  notifyOrderUpdates: z.boolean().nullable().optional(),
});
const unregisterBody = z.object({ userId, installationId });

/**
 * The notifications service: the device registry (and, with `createPushSender`, the sending).
 * Routes (contract: `DeviceResource`):
 * - `GET /devices?userId=` the user's devices, newest first, never their tokens;
 * - `POST /devices/register` upsert per (user, installation): a new token replaces the old one
 *   (rotation); a token another device holds (another user's, after a sign-in on a shared
 *   phone, or a reinstall with a new installation id) moves to this one, so one token never
 *   gets a push twice or another user's push;
 * - `POST /devices/unregister` deletes the device; unknown devices answer `deleted: false`;
 * - `POST /push/outbox/purge` (admin) deletes the finished outbox rows past `PUSH_OUTBOX_RETENTION`
 *   now, as the hourly retention job does; `GET /metrics` the push metrics.
 */
export function createNotificationsService({ database, bus, push, logger = createLogger({ level: 'info' }) }: NotificationsServiceOptions) {
  const { db } = database;
  const app = createServiceApp('notifications');
  const metrics = createPushMetrics();
  let sending: Awaited<ReturnType<typeof startPushSending>> | undefined;

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  // Admin: one pass of the outbox retention job now (as the hourly one does).
  app.post('/push/outbox/purge', async (_request, reply) => {
    if (!sending) return reject(reply, 409, { code: 'PUSH_OFF', message: 'push sending is not running in this instance' });
    return { deleted: await sending.purge() };
  });

  app.get<{ Querystring: { userId?: string } }>('/devices', async (request, reply) => {
    const id = request.query.userId;
    if (!id) return reject(reply, 400, { code: 'INVALID_INPUT', field: 'userId', message: 'userId: required, the registry answers one user\'s devices' });
    const rows = await db.select().from(devices).where(eq(devices.userId, id)).orderBy(desc(devices.updatedAt), devices.installationId);
    return { items: rows.map(toDevice) };
  });

  app.post('/devices/register', async (request, reply) => {
    const body = parseBody(registerBody, request.body, reply);
    if (!body) return reply;
    const register = () => db.transaction(async (tx) => {
      // The token leaves whichever other device holds it: tokens are unique per platform.
      await tx
        .delete(devices)
        .where(and(eq(devices.platform, body.platform), eq(devices.token, body.token), or(ne(devices.userId, body.userId), ne(devices.installationId, body.installationId))));
      const values = {
        platform: body.platform,
        token: body.token,
        appVersion: body.appVersion ?? null,
        locale: body.locale ?? null,
        notifyOrderUpdates: body.notifyOrderUpdates ?? true,
      };
      const [upserted] = await tx
        .insert(devices)
        .values({ userId: body.userId, installationId: body.installationId, ...values })
        .onConflictDoUpdate({ target: [devices.userId, devices.installationId], set: { ...values, updatedAt: sql`now()` } })
        .returning({ ...getTableColumns(devices), created: sql<boolean>`(xmax = 0)` });
      const { created, ...row } = upserted!;
      return { row: row as DeviceRow, created };
    });
    // Two registrations of one token racing (two users on one phone within milliseconds) may
    // both pass the delete and one then meets the unique index: running it again moves the token.
    const { row, created } = await register().catch((error: { code?: string; cause?: { code?: string } }) =>
      (error.code ?? error.cause?.code) === '23505' ? register() : Promise.reject(error),
    );
    return reply.code(created ? 201 : 200).send({ device: toDevice(row) });
  });

  app.post('/devices/unregister', async (request, reply) => {
    const body = parseBody(unregisterBody, request.body, reply);
    if (!body) return reply;
    const gone = await db
      .delete(devices)
      .where(and(eq(devices.userId, body.userId), eq(devices.installationId, body.installationId)))
      .returning({ installationId: devices.installationId });
    return { installationId: body.installationId, deleted: gone.length > 0 };
  });

  return {
    name: 'notifications' as const,
    app,
    migrate: () => migrate(database, { schema: 'notifications', folder: join(projectRoot(), 'src/services/notifications/migrations') }),
    /** Starts sending (with `push` set): follows the orders service's feed at `urls.orders`. */
    async start({ urls }: { urls: Partial<Record<string, string>> }) {
      if (!push || sending) return;
      if (!urls.orders) throw new Error('notifications: sending pushes needs the orders service: set ORDERS_URL');
      sending = await startPushSending({ database, bus, config: push, ordersUrl: urls.orders, metrics, logger });
    },
    async stop() {
      await sending?.stop();
      sending = undefined;
    },
  };
}
