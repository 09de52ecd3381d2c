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
  /** First retry delay; doubles per attempt, capped at 5 min; a longer `Retry-After` wins, up to `maxRetryDelayMs`. @default 1000 */
  retryBaseMs?: number;
  /** The longest a `Retry-After` may postpone one push. @default 3_600_000 (an hour) */
  maxRetryDelayMs?: number;
  /** How long a claimed push is kept from other instances while it is being sent (longer than a send can take). @default 60000 */
  leaseMs?: number;
  /**
   * Pushes in flight at once per platform (`PUSH_SEND_CONCURRENCY`). Each is marked sent the moment
   * its platform accepts it, so a SIGKILL can leave at most this many per platform accepted but not
   * yet marked, to be sent again (same push id) after their lease. @default 1
   */
  concurrency?: number;
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

/**
 * Sends what the outbox holds that is due, one lane per platform with a transport, so a slow or
 * hanging APNs never holds back FCM (or the other way round). A lane claims at most `concurrency`
 * rows at a time with a lease (FOR UPDATE SKIP LOCKED: instances never claim the same row), reads
 * each device's token as it is now (a rotated token gets the push, the old one never), sends with
 * the row's push id, and marks that row sent as soon as the platform accepted it — not at the end
 * of a batch. So the pushes a crash can repeat are only those in flight at that instant (at most
 * `concurrency` per platform, one by default); they go again after their lease with the same id,
 * for the receiver to drop. A dead token deletes the device at once; 429/5xx/no answer retries with
 * backoff honouring Retry-After, bounded; anything else is counted and kept as failed. Rows whose
 * device is gone, or whose platform has no transport, are closed by whichever lane meets them.
 */
export function createPushSender({
  database,
  transports,
  deepLinkBase,
  metrics,
  logger,
  maxAttempts = 5,
  retryBaseMs = 1000,
  maxRetryDelayMs = 3_600_000,
  leaseMs = 60_000,
  concurrency = 1,
}: PushSenderOptions) {
  const { db } = database;
  const enabled = Object.keys(transports) as DevicePlatform[];
  // The rows a lane looks at: its platform's, and those nobody else can send (device gone, platform off).
  const laneFilter = (lane: DevicePlatform) =>
    sql`(d.platform = ${lane} OR d.platform IS NULL OR d.platform NOT IN (${sql.join(
      enabled.map((p) => sql`${p}`),
      sql`, `,
    )}))`;

  async function claim(lane: DevicePlatform): Promise<Due[]> {
    return selectRows<Due>(
      db,
      sql`WITH due AS (
            SELECT o.push_id FROM notifications.push_outbox o
            LEFT JOIN notifications.devices d ON d.user_id = o.user_id AND d.installation_id = o.installation_id
            WHERE o.sent_at IS NULL AND o.failed_reason IS NULL AND o.due_at <= now() AND (o.leased_until IS NULL OR o.leased_until <= now())
              AND ${laneFilter(lane)}
            ORDER BY o.due_at LIMIT ${concurrency} FOR UPDATE OF o SKIP LOCKED
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
      await db.execute(sql`UPDATE notifications.push_outbox SET sent_at = now() WHERE push_id = ${push.push_id}`);
      metrics.sent.inc(labels);
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
      const delay = Math.min(maxRetryDelayMs, Math.max(backoff, outcome.retryAfterMs ?? 0));
      // The lease runs until the retry is due, so the row keeps out of the pending-poke index meanwhile.
      const until = sql`now() + ${`${delay} milliseconds`}::interval`;
      await db.execute(sql`UPDATE notifications.push_outbox SET due_at = ${until}, leased_until = ${until} WHERE push_id = ${push.push_id}`);
      logger.warn({ pushId: push.push_id, platform, reason: outcome.reason, attempt: push.attempts, retryInMs: delay }, 'push: will retry');
      return;
    }
    await db.execute(sql`UPDATE notifications.push_outbox SET failed_reason = ${outcome.reason} WHERE push_id = ${push.push_id}`);
    logger.warn({ pushId: push.push_id, platform, reason: outcome.reason, attempts: push.attempts }, 'push: not delivered');
  }

  /** Sends the next due pushes of one lane (at most `concurrency`); resolves with how many it claimed. */
  async function step(lane: DevicePlatform): Promise<number> {
    const due = await claim(lane);
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
          .catch((error: Error): SendOutcome => ({ status: 'retry', reason: `error: ${error.name}` }));
        await finish(push, outcome);
      }),
    );
    return due.length;
  }

  /** When the lane's next push is due, for its loop's timer; undefined when nothing waits. */
  async function nextDueInMs(lane: DevicePlatform): Promise<number | undefined> {
    const [row] = await selectRows<{ ms: number | null }>(
      db,
      sql`SELECT (extract(epoch FROM min(greatest(o.due_at, coalesce(o.leased_until, o.due_at))) - now()) * 1000)::float8 AS ms
          FROM notifications.push_outbox o
          LEFT JOIN notifications.devices d ON d.user_id = o.user_id AND d.installation_id = o.installation_id
          WHERE o.sent_at IS NULL AND o.failed_reason IS NULL AND ${laneFilter(lane)}`,
    );
    return row?.ms == null ? undefined : Math.max(0, row.ms);
  }

  return { lanes: enabled, step, nextDueInMs };
}
