import { sql, type SQL } from 'drizzle-orm';
import { request } from 'undici';
import type { OrdersFeedResponse } from '../../contracts/index.js';
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
  /** Called as the consumer advances with its lag: the age in seconds of the oldest change it has not yet enqueued (0 when caught up). */
  onLag?: (seconds: number) => void;
}

const FEED = 'orders';
const PAGE = 200;

/**
 * Follows every user's order changes as an ordered consumer whose position lives in PostgreSQL
 * (`notifications.feed_positions`), and turns each change into outbox rows: an alert per opted-in
 * device of the order's owner for each status change (the feed's `statusChanges`: every one, also
 * of an order changed again before the read; not the placing of the order, which the user did
 * themselves) and a poke per device for any change, deletions included (coalesced: a pending poke
 * absorbs the burst). The rows and
 * the position advance commit together, compare-and-set on the position, so a crash replays the
 * page and two instances never both turn one change into pushes (the loser's transaction changes
 * nothing and it reads on from the winner's position). Bus notices only say when to look.
 */
export function createOrderPushConsumer({ database, ordersUrl, pokeWindowMs, onEnqueued, onLag }: OrderPushConsumerOptions) {
  const { db } = database;

  const readPosition = async () => (await selectRows<{ position: string }>(db, sql`SELECT position FROM notifications.feed_positions WHERE feed = ${FEED}`))[0]?.position;

  /**
   * The position as this instance last read or wrote it. Every write is a compare-and-set on it, so
   * a stale one (another instance moved on) only makes that write change nothing; it is then
   * forgotten and read again.
   */
  let known: string | undefined;

  async function position(): Promise<string> {
    if (known) return known;
    const stored = await readPosition();
    if (stored) return (known = stored);
    // First start: from where the feed stands now; history is not pushed.
    const head = await fetchPage(undefined, { head: true });
    await db.execute(sql`INSERT INTO notifications.feed_positions (feed, position) VALUES (${FEED}, ${head.next}) ON CONFLICT (feed) DO NOTHING`);
    return (known = (await readPosition())!);
  }

  async function fetchPage(since: string | undefined, { head = false, limit = PAGE, timeoutMs = 10_000 } = {}): Promise<OrdersFeedResponse> {
    const query = new URLSearchParams({ limit: String(limit), ...(since ? { since } : {}), ...(head ? { head: '1' } : {}) });
    const response = await request(`${ordersUrl()}/orders/feed?${query}`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.body.json()) as OrdersFeedResponse & { message?: string };
    if (response.statusCode !== 200) throw new Error(`orders feed answered ${response.statusCode}: ${body.message ?? ''}`);
    return { ...body, deletions: body.deletions ?? [] };
  }

  /** The feed's changes of a page in feed order: updates and deletions, each with its position and time. */
  function changesOf(page: OrdersFeedResponse) {
    const positions = page.updatedPositions ?? [];
    const updates = page.updated.map((order, i) => ({ number: order.number, userId: order.userId, position: positions[i] ?? page.next, at: order.updatedAt, order }));
    const deletions = page.deletions.map((d) => ({ number: d.number, userId: d.userId, position: d.position, at: d.deletedAt, order: undefined }));
    const key = (p: string) => p.split('.').map((n) => n.padStart(20, '0')).join('.');
    return [...updates, ...deletions].sort((a, b) => (key(a.position) < key(b.position) ? -1 : key(a.position) > key(b.position) ? 1 : 0));
  }

  const age = (at: string) => Math.max(0, (Date.now() - Date.parse(at)) / 1000);

  /**
   * The lag now, from PostgreSQL and the feed, whatever this instance is doing: the age of the
   * oldest change after the stored position (0 when none). Undefined before the first start.
   */
  async function lagSeconds(): Promise<number | undefined> {
    const since = await readPosition();
    if (!since) return undefined;
    const [first] = changesOf(await fetchPage(since, { limit: 1, timeoutMs: 3_000 }));
    return first ? age(first.at) : 0;
  }

  /** Reads and enqueues one page; resolves with whether more pages are waiting. */
  async function step(): Promise<boolean> {
    const since = await position();
    const page = await fetchPage(since);
    const changes = changesOf(page);
    if (changes.length === 0 && (page.statusChanges ?? []).length === 0) {
      if (page.next !== since) {
        const moved = await selectRows<{ feed: string }>(db, sql`UPDATE notifications.feed_positions SET position = ${page.next}, updated_at = now() WHERE feed = ${FEED} AND position = ${since} RETURNING feed`);
        known = moved.length ? page.next : undefined;
      }
      onLag?.(0);
      return false;
    }
    if (changes[0]) onLag?.(age(changes[0].at));
    let enqueued = 0;
    const advanced = await db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      const moved = await selectRows<{ feed: string }>(
        tx,
        sql`UPDATE notifications.feed_positions SET position = ${page.next}, updated_at = now() WHERE feed = ${FEED} AND position = ${since} RETURNING feed`,
      );
      if (moved.length === 0) return false; // another instance took this page (or moved on)
      // Each user's devices, read once per page (a page holds most users' changes several times:
      // a status change is both a change and a status-log entry).
      const devices = new Map<string, Promise<{ installation_id: string; notify_order_updates: boolean }[]>>();
      const devicesOf = (userId: string) => {
        let read = devices.get(userId);
        if (!read) {
          read = selectRows<{ installation_id: string; notify_order_updates: boolean }>(
            tx,
            sql`SELECT installation_id, notify_order_updates FROM notifications.devices WHERE user_id = ${userId}`,
          );
          devices.set(userId, read);
        }
        return read;
      };
      const insert = async (statement: SQL) => {
        enqueued += (await selectRows(tx, statement)).length;
      };
      // A poke per device for every change of a user's orders: placed, changed, deleted or moved
      // away (a pending poke absorbs the rest of a burst).
      for (const { number, userId, position: at } of changes) {
        const change = `${number}@${at}`;
        for (const device of await devicesOf(userId)) {
          await insert(
            sql`INSERT INTO notifications.push_outbox (push_id, user_id, installation_id, kind, due_at)
                VALUES (${pushId('poke', userId, device.installation_id, change)}, ${userId}, ${device.installation_id}, 'poke', now() + ${`${pokeWindowMs} milliseconds`}::interval)
                ON CONFLICT DO NOTHING RETURNING push_id`,
          );
        }
      }
      // An alert per opted-in device for every status change, each one even when the order changed
      // again before this read (the status log); not for placing an order, which the user did.
      for (const { number, userId, position: at } of page.statusChanges ?? []) {
        const change = `${number}@${at}`;
        for (const device of await devicesOf(userId)) {
          if (!device.notify_order_updates) continue;
          await insert(
            sql`INSERT INTO notifications.push_outbox (push_id, user_id, installation_id, kind, order_number)
                VALUES (${pushId('alert', userId, device.installation_id, change)}, ${userId}, ${device.installation_id}, 'alert', ${number})
                ON CONFLICT DO NOTHING RETURNING push_id`,
          );
        }
      }
      return true;
    });
    known = advanced ? page.next : undefined;
    if (advanced) {
      // The sender's lanes are woken only for new rows: a change of a user without devices (or a
      // page another consumer already turned into pushes) gives them nothing to claim.
      if (enqueued > 0) onEnqueued();
      if (!page.hasMore) onLag?.(0);
    }
    return page.hasMore || !advanced;
  }

  /**
   * Takes the starting position now (the feed's head, on the very first start), so that every
   * change committed after the service reported ready is pushed, not skipped as history.
   */
  const start = async () => void (await position());

  return { start, step, lagSeconds };
}

/** The global id of an order, as the BFF's `Order.id`. */
export const orderGlobalId = (number: string) => toGlobalId('Order', number);
