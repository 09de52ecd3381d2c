import type { ChangesResponse, OrderResource } from '../../contracts/index.js';
import type { Context } from '../context.js';
import { DownstreamUnavailableError } from '../downstream/DownstreamErrors.js';
import type { OrderModel } from '../models.js';
import { requireViewer } from '../resolvers/shared.js';
import { changesPage, CHANGES_STATUSES } from '../sync/fetchChanges.js';
import { decodeSyncToken, encodeSyncToken, syncScope } from '../sync/syncToken.js';

export interface OrderEvent {
  order: OrderModel;
  syncToken: string;
}

export interface OrderEventStreamOptions {
  /** Changes read per feed call. @default 100 */
  pageSize?: number;
  /**
   * Re-read the feed this often even without a notice, so that a notice lost without a bus
   * outage (a publisher that could not reach Redis) delays an event by at most this. 0: never.
   * @default 60000
   */
  resyncIntervalMs?: number;
  /** Longest wait before retrying the feed while the orders service is unavailable. @default 5000 */
  maxBackoffMs?: number;
}

/**
 * When the feed holds changes back (`held`: committed while an older transaction of the database
 * still ran), the stream reads again after this, doubling up to `MAX_HELD_RETRY_MS`: the notice
 * of such a change has come already, and nothing else would make the stream read before the next
 * notice or the resync. Most transactions last milliseconds, so the first retries deliver; the
 * cap keeps a long one (a migration, a report) from turning every held stream into a poller.
 */
const HELD_RETRY_MS = 25;
const MAX_HELD_RETRY_MS = 10_000;

/**
 * The viewer's order events. Bus notices are hints that set a flag; the stream reads the
 * orders service's change feed from its last position whenever the flag is set and the
 * consumer asks for more. So nothing queues per subscriber (a consumer that stops reading stops
 * the reads), a lost notice delays an event but never loses it, and after a bus outage
 * (`onMissedMessages`) the stream catches up from the feed. A read that the feed cut short because
 * an older transaction still ran (`held`) is repeated shortly, without waiting for a notice. Each
 * event is resolved with fresh loaders and a fresh request budget (`ctx.refresh()`). The viewer's
 * subscriptions on this BFF share feed reads and batch loads (`ctx.sharedReads`): one change, one
 * read between them.
 *
 * Validates at once (throws `UNAUTHENTICATED` or `INVALID_SYNC_TOKEN` before any event), then
 * returns the iterable.
 */
export function orderEventStream(ctx: Context, since: string | null | undefined, { pageSize = 100, resyncIntervalMs = 60_000, maxBackoffMs = 5_000 }: OrderEventStreamOptions = {}): AsyncIterableIterator<OrderEvent> {
  const viewer = requireViewer(ctx);
  const scope = syncScope('orders', viewer.sub);
  const start = since != null ? decodeSyncToken(since, scope) : undefined;
  const feed = `/orders/changes?userId=${encodeURIComponent(viewer.sub)}&positions=1`;

  // Set by `return()`: an async generator only sees a return() at its next `yield`, and this one
  // may wait for a notice for hours; so `return()` also wakes it, and it stops at once.
  let closed = false;
  /** Ends the current wait (for a notice, or a backoff) early. */
  let interrupt: (() => void) | undefined;
  const close = () => {
    closed = true;
    interrupt?.();
  };

  async function* events(): AsyncGenerator<OrderEvent> {
    let dirty = true;
    let wake: (() => void) | undefined;
    // Feed reads are shared with the viewer's other subscriptions on this BFF, but only a read
    // that started after the latest notice may be joined: an older one could miss that change.
    let noticedAt = ctx.sharedReads.now();
    const notify = () => {
      noticedAt = ctx.sharedReads.now();
      dirty = true;
      wake?.();
    };
    // A feed that refuses the position (expired or not its own) ends the stream with the code the
    // orderChanges query gives (SYNC_TOKEN_EXPIRED, INVALID_SYNC_TOKEN).
    const readFeed = (path: string) =>
      ctx.sharedReads.read(`orders ${path}`, noticedAt, async () => {
        const response = await ctx.downstream.call<unknown>('orders', { path, route: 'GET /orders/changes', expect: CHANGES_STATUSES });
        return { status: response.status, body: changesPage<OrderResource>('orders', 'GET /orders/changes', response) };
      });
    // Listen before reading where the feed stands, so that no change falls between the two.
    const offNotices = ctx.bus.subscribe('orders', (message) => {
      if (message.userId === viewer.sub) notify();
    });
    const offMissed = ctx.bus.onMissedMessages(notify);
    const resync = resyncIntervalMs > 0 ? setInterval(notify, resyncIntervalMs) : undefined;
    resync?.unref();
    let backoff = 100;
    let heldRetry: NodeJS.Timeout | undefined;
    let heldDelay = HELD_RETRY_MS;
    ctx.metrics.subscriptionStreams.inc({ field: 'orderEvents' });
    try {
      let position: string = start ?? '';
      if (start === undefined) {
        ctx.refresh();
        const head = await readFeed(`${feed}&head=1`);
        position = head.body.next;
      }
      while (!closed) {
        if (!dirty) await new Promise<void>((resolve) => (wake = interrupt = resolve));
        wake = interrupt = undefined;
        if (closed) return;
        dirty = false;
        clearTimeout(heldRetry);
        try {
          let held = false;
          for (let more = true; more; ) {
            ctx.refresh();
            const { body } = await readFeed(`${feed}&since=${encodeURIComponent(position)}&limit=${pageSize}`);
            for (const [i, order] of body.updated.entries()) {
              ctx.refresh();
              yield { order: { ...order, __typename: 'Order' }, syncToken: encodeSyncToken(scope, body.updatedPositions![i]!) };
            }
            // Deletions (an order gone from the viewer) are not events; the position moves past them.
            position = body.next;
            more = body.hasMore;
            held = body.held === true;
          }
          if (held) {
            heldRetry = setTimeout(notify, heldDelay);
            heldDelay = Math.min(heldDelay * 2, MAX_HELD_RETRY_MS);
          } else {
            heldDelay = HELD_RETRY_MS;
          }
          backoff = 100;
        } catch (error) {
          if (!(error instanceof DownstreamUnavailableError)) throw error;
          // The orders service is away: keep the subscription, read again later.
          dirty = true;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, backoff);
            interrupt = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          interrupt = undefined;
          backoff = Math.min(backoff * 2, maxBackoffMs);
        }
      }
    } finally {
      offNotices();
      offMissed();
      if (resync) clearInterval(resync);
      clearTimeout(heldRetry);
      ctx.metrics.subscriptionStreams.dec({ field: 'orderEvents' });
    }
  }
  const generator = events();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => generator.next(),
    return(value?: unknown) {
      close();
      return generator.return(value as undefined);
    },
    throw(error?: unknown) {
      close();
      return generator.throw(error);
    },
  };
}
