import { sql } from 'drizzle-orm';
import { request } from 'undici';
import type { ChangesResponse, OrderResource } from '../../contracts/index.js';
import { selectRows, type Database, type Db } from '../../db/index.js';
import { toGlobalId } from '../../bff/ids/globalId.js';
import { pushId } from './pushId.js';

export interface OrderPushConsumerOptions {
  database: Database;
  /** The orders service, whose `GET /orders/feed` this follows. */
  ordersUrl: () => string;
  /** A burst of one user's changes within this window is one poke per device, in ms. */
  pokeWindowMs: number;
  /** Called after a page added pushes to the outbox, so the sender need not wait for its timer. */
  onEnqueued: () => void;
  /** Called with how far behind the feed the consumer is, in seconds (0 when caught up). */
  onLag?: (seconds: number) => void;
}

const FEED = 'orders';
const PAGE = 200;

/**
 * Follows every user's order changes as an ordered consumer whose position lives in PostgreSQL
 * (`notifications.feed_positions`), and turns each change into outbox rows: an alert per opted-in
 * device of the order's owner (a status change, not the placing of the order, which the user did
 * themselves) and a poke per device (coalesced: a pending poke absorbs the burst). The rows and
 * the position advance commit together, compare-and-set on the position, so a crash replays the
 * page and two instances never both turn one change into pushes (the loser's transaction changes
 * nothing and it reads on from the winner's position). Bus notices only say when to look.
 */
export function createOrderPushConsumer({ database, ordersUrl, pokeWindowMs, onEnqueued, onLag }: OrderPushConsumerOptions) {
  const { db } = database;

  async function position(): Promise<string> {
    const [row] = await selectRows<{ position: string }>(db, sql`SELECT position FROM notifications.feed_positions WHERE feed = ${FEED}`);
    if (row) return row.position;
    // First start: from where the feed stands now; history is not pushed.
    const head = await fetchPage(undefined, true);
    await db.execute(sql`INSERT INTO notifications.feed_positions (feed, position) VALUES (${FEED}, ${head.next}) ON CONFLICT (feed) DO NOTHING`);
    const [again] = await selectRows<{ position: string }>(db, sql`SELECT position FROM notifications.feed_positions WHERE feed = ${FEED}`);
    return again!.position;
  }

  async function fetchPage(since: string | undefined, head = false): Promise<ChangesResponse<OrderResource>> {
    const query = new URLSearchParams({ limit: String(PAGE), ...(since ? { since } : {}), ...(head ? { head: '1' } : {}) });
    const response = await request(`${ordersUrl()}/orders/feed?${query}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await response.body.json()) as ChangesResponse<OrderResource> & { message?: string };
    if (response.statusCode !== 200) throw new Error(`orders feed answered ${response.statusCode}: ${body.message ?? ''}`);
    return body;
  }

  /** Reads and enqueues one page; resolves with whether more pages are waiting. */
  async function step(): Promise<boolean> {
    const since = await position();
    const page = await fetchPage(since);
    if (page.next === since && page.updated.length === 0) {
      onLag?.(0);
      return false;
    }
    const positions = page.updatedPositions ?? [];
    const advanced = await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const moved = await selectRows<{ feed: string }>(
        tx,
        sql`UPDATE notifications.feed_positions SET position = ${page.next}, updated_at = now() WHERE feed = ${FEED} AND position = ${since} RETURNING feed`,
      );
      if (moved.length === 0) return false; // another instance took this page
      for (const [i, order] of page.updated.entries()) {
        const change = `${order.number}@${positions[i] ?? page.next}`;
        const devices = await selectRows<{ installation_id: string; notify_order_updates: boolean }>(
          tx,
          sql`SELECT installation_id, notify_order_updates FROM notifications.devices WHERE user_id = ${order.userId}`,
        );
        // Placed (never changed since): the user did it on a device; only the sync poke.
        const statusChange = order.updatedAt !== order.createdAt;
        for (const device of devices) {
          if (statusChange && device.notify_order_updates) {
            await tx.execute(
              sql`INSERT INTO notifications.push_outbox (push_id, user_id, installation_id, kind, order_number)
                  VALUES (${pushId('alert', order.userId, device.installation_id, change)}, ${order.userId}, ${device.installation_id}, 'alert', ${order.number})
                  ON CONFLICT DO NOTHING`,
            );
          }
          await tx.execute(
            sql`INSERT INTO notifications.push_outbox (push_id, user_id, installation_id, kind, due_at)
                VALUES (${pushId('poke', order.userId, device.installation_id, change)}, ${order.userId}, ${device.installation_id}, 'poke', now() + ${`${pokeWindowMs} milliseconds`}::interval)
                ON CONFLICT DO NOTHING`,
          );
        }
      }
      return true;
    });
    if (advanced && page.updated.length) onEnqueued();
    const last = page.updated.at(-1);
    onLag?.(page.hasMore && last ? Math.max(0, (Date.now() - Date.parse(last.updatedAt)) / 1000) : 0);
    return page.hasMore || !advanced;
  }

  return { step };
}

/** The global id of an order, as the BFF's `Order.id`. */
export const orderGlobalId = (number: string) => toGlobalId('Order', number);
