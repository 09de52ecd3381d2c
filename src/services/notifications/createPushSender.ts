import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { DevicePlatform } from '../../contracts/index.js';
import { selectRows, type Database } from '../../db/index.js';
import { orderGlobalId } from './createOrderPushConsumer.js';
import type { PushMetrics } from './createPushMetrics.js';
import type { PushTransport, SendOutcome } from './PushTransport.js';

export interface PushSenderOptions {
  database: Database;
  transports: Partial<Record<DevicePlatform, PushTransport>>;
  /** e.g. `mobilebff://`; an alert links to `<base>orders/<global id>`. */
  deepLinkBase: string;
  metrics: PushMetrics;
  logger: Logger;
  /** Attempts of one push before it is given up (429/5xx/unreachable). @default 5 */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, capped at 5 min; a longer `Retry-After` wins. @default 1000 */
  retryBaseMs?: number;
  /** How long a claimed push is kept from other instances while it is being sent. @default 60000 */
  leaseMs?: number;
}

interface Due {
  push_id: string;
  user_id: string;
  installation_id: string;
  kind: 'alert' | 'poke';
  order_number: string | null;
  attempts: number;
  platform: DevicePlatform | null;
  token: string | null;
}

const BATCH = 100;

/**
 * Sends what the outbox holds that is due: claims a batch with a lease (FOR UPDATE SKIP LOCKED,
 * so instances never claim the same row), reads each device's token as it is now (a rotated
 * token gets the push, the old one never), sends with the row's push id, and marks it sent. A dead
 * token deletes the device at once; 429/5xx/no answer retries with backoff honouring Retry-After,
 * bounded; anything else is counted and kept as failed. A crash between sending and marking
 * sends that push again after its lease, with the same id, for the receiver to drop.
 */
export function createPushSender({ database, transports, deepLinkBase, metrics, logger, maxAttempts = 5, retryBaseMs = 1000, leaseMs = 60_000 }: PushSenderOptions) {
  const { db } = database;

  async function claim(): Promise<Due[]> {
    return selectRows<Due>(
      db,
      sql`WITH due AS (
            SELECT push_id FROM notifications.push_outbox
            WHERE sent_at IS NULL AND failed_reason IS NULL AND due_at <= now() AND (leased_until IS NULL OR leased_until <= now())
            ORDER BY due_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED
          ), claimed AS (
            UPDATE notifications.push_outbox o SET leased_until = now() + ${`${leaseMs} milliseconds`}::interval, attempts = o.attempts + 1
            FROM due WHERE o.push_id = due.push_id
            RETURNING o.push_id, o.user_id, o.installation_id, o.kind, o.order_number, o.attempts
          )
          SELECT c.*, d.platform, d.token FROM claimed c
          LEFT JOIN notifications.devices d ON d.user_id = c.user_id AND d.installation_id = c.installation_id`,
    );
  }

  async function finish(push: Due, outcome: SendOutcome): Promise<void> {
    const platform = push.platform!;
    const labels = { platform, kind: push.kind };
    if (outcome.status === 'sent') {
      metrics.sent.inc(labels);
      await db.execute(sql`UPDATE notifications.push_outbox SET sent_at = now() WHERE push_id = ${push.push_id}`);
      return;
    }
    metrics.failed.inc({ ...labels, reason: outcome.reason.slice(0, 64) });
    if (outcome.status === 'unregistered') {
      // Only if the token is still the one that failed: a registration that rotated it meanwhile stays.
      await db.execute(
        sql`DELETE FROM notifications.devices WHERE user_id = ${push.user_id} AND installation_id = ${push.installation_id} AND token = ${push.token}`,
      );
      metrics.pruned.inc({ platform, reason: outcome.reason });
      await db.execute(sql`UPDATE notifications.push_outbox SET failed_reason = ${outcome.reason} WHERE push_id = ${push.push_id}`);
      logger.info({ pushId: push.push_id, platform, reason: outcome.reason, installationId: push.installation_id }, 'push: token is dead; device deleted');
      return;
    }
    if (outcome.status === 'retry' && push.attempts < maxAttempts) {
      const backoff = Math.min(300_000, retryBaseMs * 2 ** (push.attempts - 1));
      const delay = Math.max(backoff, outcome.retryAfterMs ?? 0);
      // The lease runs until the retry is due, so the row keeps out of the pending-poke index meanwhile.
      const until = sql`now() + ${`${delay} milliseconds`}::interval`;
      await db.execute(sql`UPDATE notifications.push_outbox SET due_at = ${until}, leased_until = ${until} WHERE push_id = ${push.push_id}`);
      logger.warn({ pushId: push.push_id, platform, reason: outcome.reason, attempt: push.attempts, retryInMs: delay }, 'push: will retry');
      return;
    }
    await db.execute(sql`UPDATE notifications.push_outbox SET failed_reason = ${outcome.reason} WHERE push_id = ${push.push_id}`);
    logger.warn({ pushId: push.push_id, platform, reason: outcome.reason, attempts: push.attempts }, 'push: not delivered');
  }

  /** Sends one batch of due pushes; resolves with how many it claimed. */
  async function step(): Promise<number> {
    const due = await claim();
    await Promise.all(
      due.map(async (push) => {
        const transport = push.platform ? transports[push.platform] : undefined;
        if (!push.token || !transport) {
          // The device is gone, or its platform has no credentials: nothing to send, ever.
          await db.execute(sql`UPDATE notifications.push_outbox SET failed_reason = ${push.token ? 'PLATFORM_DISABLED' : 'DEVICE_GONE'} WHERE push_id = ${push.push_id}`);
          return;
        }
        const orderId = push.order_number ? orderGlobalId(push.order_number) : undefined;
        const outcome = await transport
          .send({ pushId: push.push_id, kind: push.kind, token: push.token, ...(orderId ? { orderId, deepLink: `${deepLinkBase}orders/${orderId}` } : {}) })
          .catch((error: Error): SendOutcome => ({ status: 'retry', reason: `error: ${error.message}` }));
        await finish(push, outcome);
      }),
    );
    return due.length;
  }

  /** When the next push is due, for the loop's timer; undefined when nothing waits. */
  async function nextDueInMs(): Promise<number | undefined> {
    const [row] = await selectRows<{ ms: number | null }>(
      db,
      sql`SELECT (extract(epoch FROM min(greatest(due_at, coalesce(leased_until, due_at))) - now()) * 1000)::float8 AS ms
          FROM notifications.push_outbox WHERE sent_at IS NULL AND failed_reason IS NULL`,
    );
    return row?.ms == null ? undefined : Math.max(0, row.ms);
  }

  return { step, nextDueInMs };
}
