import { join } from 'node:path';
import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Bus } from '../../bus/index.js';
import type { ChangesResponse, OrderResource, OrdersFeedResponse } from '../../contracts/index.js';
import { migrate, selectRows, type Database, type Db } from '../../db/index.js';
import { projectRoot } from '../../util/projectRoot.js';
import { comparePositions, formatPosition, parseChangesQuery, purgeTombstones, readChanges, type ChangeFeed, type FeedPosition } from '../changes/index.js';
import { createServiceApp, parseBody, parseIds, reject } from '../http/createServiceApp.js';
import { keysetPage, parseKeysetQuery, type KeysetOrdering } from '../http/keysetPage.js';
import { orderLines, orders, orderStatuses, type OrderLineRow, type OrderRow, type OrderStatus } from './ordersTables.js';

/** The orders change feed, one per user: their orders, and tombstones of orders they no longer have (migration 0001). */
export const orderChangeFeed: ChangeFeed = { name: 'orders', schema: 'orders', table: 'orders', tombstones: 'order_tombstones', key: 'number', owner: 'user_id' };

export interface OrdersServiceOptions {
  database: Database;
  bus: Bus;
  /** How long the tombstone of an order a user no longer has is kept for the change feed, in days. @default 30 */
  tombstoneRetentionDays?: number;
}

/** The list ordering of `GET /orders`: newest first, then by number. Index: orders_user_created_number_idx. */
export const newestFirst: KeysetOrdering = {
  columns: [orders.createdAt, orders.number],
  descending: true,
  position: (v) => sql`(${v[0]}::timestamptz, ${v[1]}::text)`,
};

const placeBody = z.object({
  userId: z.string().min(1).max(255),
  currency: z.string().regex(/^[A-Z]{3}$/),
  lines: z
    .array(z.object({ sku: z.string().min(1).max(64), quantity: z.number().int().min(1).max(999), unitPriceCents: z.number().int().min(0) }))
    .min(1)
    .max(50),
  idempotencyKey: z.string().min(1).max(255).optional(),
});
const cancelBody = z.object({ userId: z.string().min(1).max(255), idempotencyKey: z.string().min(1).max(255).optional() });
const statusBody = z.object({ status: z.enum(orderStatuses) });
const cancellable: OrderStatus[] = ['PENDING', 'CONFIRMED'];

async function loadOrders(db: Db, rows: OrderRow[]): Promise<OrderResource[]> {
  if (rows.length === 0) return [];
  const lines = await db
    .select()
    .from(orderLines)
    .where(inArray(orderLines.orderNumber, rows.map((r) => r.number)))
    .orderBy(asc(orderLines.orderNumber), asc(orderLines.lineNo));
  const byOrder = new Map<string, OrderLineRow[]>();
  for (const line of lines) {
    let list = byOrder.get(line.orderNumber);
    if (!list) byOrder.set(line.orderNumber, (list = []));
    list.push(line);
  }
  return rows.map((r) => ({
    number: r.number,
    userId: r.userId,
    status: r.status,
    currency: r.currency,
    totalCents: r.totalCents,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
    lines: (byOrder.get(r.number) ?? []).map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: l.unitPriceCents })),
  }));
}

/**
 * The orders service. Its key is the order `number`. Routes:
 * - `GET /orders?ids=a,b` batch, lines included;
 * - `GET /orders?userId=&status=&limit=&after=&before=&direction=` keyset list, newest first,
 *   ordered by (createdAt desc, number desc);
 * - `GET /orders/feed?since=&limit=[&head=1]` every user's changes in one ordered feed, positions
 *   included, deletions with their owner, and every status change in the page's window, even of an
 *   order changed again since (`OrdersFeedResponse`; `orders.order_status_log`);
 * - `GET /orders/changes?userId=&since=&limit=[&positions=1][&head=1]` the user's change feed
 *   (`ChangesResponse`), lines included; `positions=1` adds each update's position, `head=1` reads
 *   no rows, only where the feed stands now;
 * - `POST /orders` place, `POST /orders/:number/cancel` (the customer's side),
 *   `POST /orders/:number/status` (the fulfilment side);
 * - `POST /orders/changes/purge` (admin) deletes the tombstones older than the retention now, as the hourly job does.
 *
 * Place and cancel take an optional `idempotencyKey`: a retry with the same user and key answers
 * the first outcome instead of writing again (place: the same order, 200 instead of 201), so a
 * caller that lost the answer can always ask again.
 */
export function createOrdersService({ database, bus, tombstoneRetentionDays = 30 }: OrdersServiceOptions) {
  const { db } = database;
  const app = createServiceApp('orders');

  app.get<{ Querystring: Record<string, string | undefined> }>('/orders', async (request, reply) => {
    const q = request.query;
    if (q.ids !== undefined) {
      request.statLabel = 'GET /orders?ids';
      const ids = parseIds(q.ids);
      if (typeof ids === 'string') return reject(reply, 400, { code: 'INVALID_INPUT', message: ids });
      return { items: await loadOrders(db, await db.select().from(orders).where(inArray(orders.number, ids))) };
    }
    if (!q.userId) return reject(reply, 400, { code: 'INVALID_INPUT', field: 'userId', message: 'userId: required to list orders' });
    const keyset = parseKeysetQuery(q);
    if ('message' in keyset) return reject(reply, 400, { code: 'INVALID_INPUT', ...keyset });
    if (q.status !== undefined && !(orderStatuses as readonly string[]).includes(q.status)) {
      return reject(reply, 400, { code: 'INVALID_INPUT', field: 'status', message: `status: expected one of ${orderStatuses.join(', ')}` });
    }
    const filters: SQL[] = [eq(orders.userId, q.userId)];
    if (q.status) filters.push(eq(orders.status, q.status as OrderStatus));
    const page = await keysetPage<OrderRow>(db, orders, newestFirst, {
      filters,
      ...keyset,
    });
    return { items: await loadOrders(db, page.items), hasNext: page.hasNext, hasPrevious: page.hasPrevious };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/orders/changes', async (request, reply) => {
    const userId = request.query.userId;
    if (!userId) return reject(reply, 400, { code: 'INVALID_INPUT', field: 'userId', message: 'userId: required, the feed holds one user\'s orders' });
    const query = parseChangesQuery(request.query);
    if ('message' in query) return reject(reply, 400, { code: 'INVALID_INPUT', ...query });
    const page = await readChanges(
      db,
      orderChangeFeed,
      { ...query, owner: userId, headOnly: request.query.head === '1' },
      async (tx, numbers) => loadOrders(tx, await tx.select().from(orders).where(inArray(orders.number, numbers))),
      (order) => order.number,
    );
    if (page.status === 'expired') return reject(reply, 410, { code: 'SINCE_EXPIRED', field: 'since', message: page.message });
    return {
      updated: page.updated,
      deleted: page.deleted,
      next: formatPosition(page.next),
      hasMore: page.hasMore,
      ...(page.held ? { held: true as const } : {}),
      ...(request.query.positions === '1' ? { updatedPositions: page.updatedPositions.map(formatPosition) } : {}),
    } satisfies ChangesResponse<OrderResource>;
  });

  // Every user's changes in one ordered feed, for consumers that act on all of them (the
  // notifications service's push sender). No route deletes an order, but a row deleted or moved to
  // another user in the database (an erasure, an admin's fix) leaves a tombstone: it is in the
  // feed too, with the user who lost it.
  const allOrdersFeed: ChangeFeed = { ...orderChangeFeed, owner: undefined, tombstoneOwner: 'user_id' };
  app.get<{ Querystring: Record<string, string | undefined> }>('/orders/feed', { config: { uncounted: true } }, async (request, reply) => {
    const query = parseChangesQuery(request.query);
    if ('message' in query) return reject(reply, 400, { code: 'INVALID_INPUT', ...query });
    const page = await readChanges(
      db,
      allOrdersFeed,
      { ...query, headOnly: request.query.head === '1' },
      async (tx, numbers) => loadOrders(tx, await tx.select().from(orders).where(inArray(orders.number, numbers))),
      (order) => order.number,
    );
    if (page.status === 'expired') return reject(reply, 410, { code: 'SINCE_EXPIRED', field: 'since', message: page.message });
    // The status changes stamped in this page's window (since, next]: every one, even of an order
    // changed twice before this read (the page itself holds only its latest version). Those below
    // next are settled (next never passes a running transaction), so this later read sees them all.
    // More than a page of them: the page ends at the last one returned, the rest come next time.
    let { next, hasMore, updated, updatedPositions, deletions } = page;
    let log: { number: string; user_id: string; status: OrderStatus; changed_at: string; xid: string; seq: string }[] = [];
    if (query.since && request.query.head !== '1') {
      log = await selectRows(
        db,
        sql`SELECT number, user_id, status, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS changed_at, change_xid::text AS xid, change_seq::text AS seq
            FROM orders.order_status_log
            WHERE (change_xid, change_seq) > (${query.since.xid.toString()}::xid8, ${query.since.seq.toString()}::bigint)
              AND (change_xid, change_seq) <= (${next.xid.toString()}::xid8, ${next.seq.toString()}::bigint)
            ORDER BY change_xid, change_seq LIMIT ${query.limit + 1}`,
      );
      if (log.length > query.limit) {
        log = log.slice(0, query.limit);
        const last = log.at(-1)!;
        next = { xid: BigInt(last.xid), seq: BigInt(last.seq) };
        hasMore = true;
        const upTo = (p: FeedPosition) => comparePositions(p, next) <= 0;
        const kept = updatedPositions.map(upTo);
        updated = updated.filter((_, i) => kept[i]);
        updatedPositions = updatedPositions.filter(upTo);
        deletions = deletions.filter((d) => upTo(d.position));
      }
    }
    return {
      updated,
      deleted: deletions.map((d) => d.key),
      next: formatPosition(next),
      hasMore,
      ...(page.held ? { held: true as const } : {}),
      updatedPositions: updatedPositions.map(formatPosition),
      deletions: deletions.map((d) => ({ number: d.key, userId: d.owner!, deletedAt: d.deletedAt, position: formatPosition(d.position) })),
      statusChanges: log.map((l) => ({ number: l.number, userId: l.user_id, status: l.status, changedAt: l.changed_at, position: `${l.xid}.${l.seq}` })),
    } satisfies OrdersFeedResponse;
  });

  app.post('/orders', async (request, reply) => {
    const body = parseBody(placeBody, request.body, reply);
    if (!body) return reply;
    const { order, created } = await db.transaction(async (tx) => {
      const [{ seq }] = (await selectRows<{ seq: string }>(tx as unknown as Db, sql`SELECT nextval('orders.order_number_seq')::text AS seq`)) as [{ seq: string }];
      const totalCents = body.lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0);
      // A concurrent insert with the same key makes this one wait for it, then do nothing; the
      // SELECT that follows, a statement of its own, sees the order it committed.
      const [row] = await tx
        .insert(orders)
        .values({ number: seq, userId: body.userId, status: 'PENDING', currency: body.currency, totalCents, idempotencyKey: body.idempotencyKey ?? null })
        .onConflictDoNothing({ target: [orders.userId, orders.idempotencyKey] })
        .returning();
      if (!row) {
        const [first] = await tx.select().from(orders).where(and(eq(orders.userId, body.userId), eq(orders.idempotencyKey, body.idempotencyKey!)));
        return { order: (await loadOrders(tx as unknown as Db, [first!]))[0]!, created: false };
      }
      await tx.insert(orderLines).values(body.lines.map((l, i) => ({ orderNumber: seq, lineNo: i + 1, ...l })));
      return { order: (await loadOrders(tx as unknown as Db, [row]))[0]!, created: true };
    });
    if (!created) return reply.code(200).send({ order });
    await bus.publish({ topic: 'orders', userId: order.userId, number: order.number });
    return reply.code(201).send({ order });
  });

  app.post<{ Params: { number: string } }>('/orders/:number/cancel', async (request, reply) => {
    const body = parseBody(cancelBody, request.body, reply);
    if (!body) return reply;
    const outcome = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(orders).where(eq(orders.number, request.params.number)).for('update');
      if (!row || row.userId !== body.userId) return { status: 404 as const };
      if (body.idempotencyKey && row.cancelIdempotencyKey === body.idempotencyKey) return { status: 200 as const, row, repeated: true };
      if (!cancellable.includes(row.status)) return { status: 409 as const, row };
      const [updated] = await tx
        .update(orders)
        .set({ status: 'CANCELLED', cancelIdempotencyKey: body.idempotencyKey ?? null, updatedAt: sql`now()` })
        .where(eq(orders.number, row.number))
        .returning();
      return { status: 200 as const, row: updated! };
    });
    if (outcome.status === 404) return reject(reply, 404, { code: 'NOT_FOUND', message: `No order ${JSON.stringify(request.params.number)} for this user` });
    const [order] = await loadOrders(db, [outcome.row]);
    if (outcome.status === 409) {
      return reply.code(409).send({ code: 'ORDER_NOT_CANCELLABLE', message: `Order ${order!.number} is ${order!.status.toLowerCase()} and can no longer be cancelled`, order });
    }
    if (!('repeated' in outcome)) await bus.publish({ topic: 'orders', userId: order!.userId, number: order!.number });
    return { order };
  });

  app.post<{ Params: { number: string } }>('/orders/:number/status', async (request, reply) => {
    const body = parseBody(statusBody, request.body, reply);
    if (!body) return reply;
    const [row] = await db
      .update(orders)
      .set({ status: body.status, updatedAt: sql`now()` })
      .where(eq(orders.number, request.params.number))
      .returning();
    if (!row) return reject(reply, 404, { code: 'NOT_FOUND', message: `No order ${JSON.stringify(request.params.number)}` });
    await bus.publish({ topic: 'orders', userId: row.userId, number: row.number });
    return { order: (await loadOrders(db, [row]))[0] };
  });

  /** Deletes the tombstones older than the retention, as of `now`; resolves with how many. */
  const purge = async (now = new Date()) => {
    const olderThan = new Date(now.getTime() - tombstoneRetentionDays * 86_400_000);
    // The status log of the all-users feed is kept as long as tombstones.
    await db.execute(sql`DELETE FROM orders.order_status_log WHERE changed_at < ${olderThan.toISOString()}::timestamptz`);
    return purgeTombstones(db, orderChangeFeed, { olderThan });
  };
  app.post('/orders/changes/purge', async () => ({ purged: await purge() }));

  return {
    name: 'orders' as const,
    app,
    migrate: () => migrate(database, { schema: 'orders', folder: join(projectRoot(), 'src/services/orders/migrations') }),
    /** The tombstone purge, which the services' hourly job runs. */
    purgeTombstones: purge,
  };
}
