import { sql, type SQL } from 'drizzle-orm';
import { selectRows, type Db } from '../../db/index.js';
import type { ChangeFeed } from './ChangeFeed.js';
import { comparePositions, type FeedPosition } from './feedPosition.js';

export interface ChangesRequest {
  /** Resume after this position. `undefined`: a full sync, every live row and no tombstones. */
  since: FeedPosition | undefined;
  /** Most changes (updated and deleted together) in the page. */
  limit: number;
  /** Whose feed to read; required when the feed has an owner column. */
  owner?: string;
  /** Read no rows: only the position where the feed stands now (where a live reader starts). */
  headOnly?: boolean;
}

export type ChangesPage<T> =
  | {
      status: 'ok';
      /** Rows created or changed after `since`, in change order. */
      updated: T[];
      /** The position of each entry of `updated`. */
      updatedPositions: FeedPosition[];
      /** Keys deleted after `since`; never also in `updated`. */
      deleted: string[];
      /** Each deletion of `deleted`, in order, with its position, its time and (when the feed knows it) its owner. */
      deletions: { key: string; owner: string | undefined; position: FeedPosition; deletedAt: string }[];
      /** Where the next page starts; never before `since`. */
      next: FeedPosition;
      /** More changes lie after `next` already. */
      hasMore: boolean;
      /**
       * Changes committed after `next` are held back: an older transaction was still running when
       * this page was read (the bound, below). They come in a later read once it has finished,
       * which no notice announces: read again shortly.
       */
      held: boolean;
    }
  | { status: 'expired'; message: string };

const START: FeedPosition = { xid: 0n, seq: 0n };
/** Reads of one page at most, when a finished transaction held the previous one back. */
const MAX_READS = 3;

/*
 * Why this never skips a change, and why it reads the way it does.
 *
 * Triggers stamp every row version with its transaction's id, `pg_current_xact_id()`, and a
 * sequence value. A timestamp or a sequence alone is not a safe watermark: a transaction that
 * took its value early and commits late appears behind a position the client has already passed.
 * A transaction id is safe once bounded: the xmin of a snapshot is the oldest transaction still
 * running, so every id below it has finished, committed or not, and nothing can ever again be
 * stamped below it (ids only grow; a transaction gets its id at its first write, later than any
 * snapshot taken before). A page therefore returns only versions stamped below the bound of its
 * snapshot; versions of transactions still running are left for a later pull, never jumped over.
 * Everything is read in one REPEATABLE READ snapshot, so the bound, the rows, the tombstones and
 * the purge horizon agree with each other. The reader is read-only and never takes an id itself.
 *
 * The bound is the xmin of the running transactions of this database only: ids are shared by
 * the whole cluster, and a long transaction in another database (which cannot write here) must
 * not hold this feed back. An id is left out only when pg_stat_activity positively names another
 * database for it; anything unknown (another role's backend, a finished one) keeps it in, which
 * at worst delays a change. Bounds from different snapshots may therefore differ slightly, so the
 * next position is never moved behind `since`; everything below `since` is already settled.
 *
 * Versions at or past the bound that this snapshot does see (their transactions committed while
 * an older one still ran) are not sent, but the page says so (`held`): nothing else would tell a
 * reader that waits for notices to read again, since the notice of such a change has already come.
 *
 * A page that is full resumes right after its last change, not at the bound, so the next page
 * neither repeats nor skips what lies between. A row changed again after being sent gets a new,
 * later stamp and is sent again; a deleted row's tombstone is stamped the same way. A tombstone
 * whose key is live in the snapshot is stale (the row came back) and is not sent, so one key is
 * never both updated and deleted in a page.
 */
export async function readChanges<T>(
  db: Db,
  feed: ChangeFeed,
  { since, limit, owner, headOnly = false }: ChangesRequest,
  load: (tx: Db, keys: string[]) => PromiseLike<T[]>,
  keyOf: (row: T) => string,
): Promise<ChangesPage<T>> {
  if ((feed.owner === undefined) !== (owner === undefined)) {
    throw new Error(`readChanges: the ${feed.name} feed ${feed.owner ? `is per ${feed.owner}: pass owner` : 'has no owner: pass none'}`);
  }
  const id = sql.identifier;
  const table = sql`${id(feed.schema)}.${id(feed.table)}`;
  const tombstones = sql`${id(feed.schema)}.${id(feed.tombstones)}`;
  const horizons = sql`${id(feed.schema)}.change_feed_horizons`;
  const from = since ?? START;

  // A page held back by a transaction that had already finished when the page looked (it was
  // running at the snapshot, gone from pg_stat_activity a moment later: usually another
  // database's, or one of this database's short ones) is read again at once, in a new snapshot.
  for (let attempt = 1; ; attempt++) {
    const { page, heldByFinished } = await readOnce();
    if (!heldByFinished || attempt === MAX_READS) return page;
  }

  async function readOnce(): Promise<{ page: ChangesPage<T>; heldByFinished: boolean }> {
    let boundLive = true;
    const page = await db.transaction<ChangesPage<T>>(
      async (transaction) => {
        const tx = transaction as unknown as Db;
        // The first statement takes the transaction's snapshot, alone: in most reads no transaction
        // is running (`xip` is empty) and the bound is simply `xmax`. Only when some are does the
        // read look at the running backends (pg_stat_activity's view cost 1.2 ms of the 1.7 ms
        // statement to plan in PGlite, more than the rest of the page).
        const [snapshot] = await selectRows<{ xmax: string; running: boolean; horizon: string | null }>(
          tx,
          sql`SELECT pg_snapshot_xmax(s)::text AS xmax,
                     EXISTS (SELECT 1 FROM pg_snapshot_xip(s)) AS running,
                     (SELECT horizon_xid::text || '.' || horizon_seq::text FROM ${horizons} WHERE feed = ${feed.name}) AS horizon
              FROM pg_current_snapshot() AS s`,
        );
        let bound = BigInt(snapshot!.xmax);
        if (snapshot!.running) {
          // Read in a later statement than the snapshot, pg_stat_activity may miss a transaction
          // that finished in between: an unknown id keeps the bound where it is (at worst a delay),
          // and a bound that is no longer running reads the page again (below), as before.
          const [bounded] = await selectRows<{ bound: string; bound_running: boolean }>(
            tx,
            sql`WITH running AS MATERIALIZED (
                       SELECT a.backend_xid, d.datname FROM pg_stat_get_activity(NULL) AS a LEFT JOIN pg_database AS d ON d.oid = a.datid
                       WHERE a.backend_xid IS NOT NULL),
                     bounded AS MATERIALIZED (
                       SELECT coalesce((SELECT x FROM pg_snapshot_xip(s) AS x
                                        WHERE xid(x) NOT IN (SELECT backend_xid FROM running WHERE datname IS NOT NULL AND datname <> current_database())
                                        ORDER BY x LIMIT 1),
                                       pg_snapshot_xmax(s)) AS bound
                       FROM pg_current_snapshot() AS s)
                SELECT bound::text AS bound, xid(bound) IN (SELECT backend_xid FROM running) AS bound_running FROM bounded`,
          );
          bound = BigInt(bounded!.bound);
          boundLive = bound === BigInt(snapshot!.xmax) || bounded!.bound_running;
        }
        if (since) {
          if (since.xid > BigInt(snapshot!.xmax)) {
            return { status: 'expired', message: 'since: this position was not issued by this database (was it restored or replaced?); sync again from the start.' };
          }
          const [hx, hs] = snapshot!.horizon?.split('.') ?? [];
          if (hx !== undefined && comparePositions(since, { xid: BigInt(hx), seq: BigInt(hs!) }) < 0) {
            return { status: 'expired', message: 'since: deletions after this position have been purged (tombstone retention); wipe the local copy and sync again from the start.' };
          }
        }

        if (headOnly) {
          const end = { xid: bound, seq: 0n };
          return { status: 'ok', updated: [], updatedPositions: [], deleted: [], deletions: [], next: comparePositions(end, from) > 0 ? end : from, hasMore: false, held: false };
        }

        // Every change after `from`, those past the bound too: in (xid, seq) order they come after
        // all those below it, so a page that is not full shows whether any is held back.
        const window = (alias: SQL) =>
          sql`(${alias}.change_xid, ${alias}.change_seq) > (${from.xid.toString()}::xid8, ${from.seq.toString()}::bigint)
              ${owner !== undefined ? sql`AND ${alias}.${id(feed.owner!)} = ${owner}` : sql``}`;
        type Change = { key: string; xid: string; seq: string; owner: string | null; deleted_at: string | null; deleted: boolean };
        const tombstoneOwner = feed.tombstoneOwner ?? feed.owner;
        // Live rows and (after a position) tombstones, each up to a page past it, in one statement.
        const liveRows = sql`SELECT r.${id(feed.key)} AS key, r.change_xid::text AS xid, r.change_seq::text AS seq, NULL::text AS owner, NULL::text AS deleted_at, false AS deleted
              FROM ${table} AS r
              WHERE ${window(sql`r`)} ORDER BY r.change_xid, r.change_seq LIMIT ${limit + 1}`;
        const goneRows = sql`SELECT t.${id(feed.key)} AS key, t.change_xid::text AS xid, t.change_seq::text AS seq,
                     ${tombstoneOwner ? sql`t.${id(tombstoneOwner)}` : sql`NULL`}::text AS owner,
                     to_char(t.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS deleted_at, true AS deleted
              FROM ${tombstones} AS t
              WHERE ${window(sql`t`)}
                AND NOT EXISTS (SELECT 1 FROM ${table} AS r WHERE r.${id(feed.key)} = t.${id(feed.key)}
                                ${feed.owner ? sql`AND r.${id(feed.owner)} = t.${id(feed.owner)}` : sql``})
              ORDER BY t.change_xid, t.change_seq LIMIT ${limit + 1}`;
        const found = await selectRows<Change>(tx, since ? sql`(${liveRows}) UNION ALL (${goneRows})` : liveRows);

        const all = found.map((c) => ({ ...c, position: { xid: BigInt(c.xid), seq: BigInt(c.seq) } }));
        const changes = all.filter((c) => c.position.xid < bound).sort((a, b) => comparePositions(a.position, b.position));
        const held = changes.length < all.length;
        const hasMore = changes.length > limit;
        const page = changes.slice(0, limit);
        const end = { xid: bound, seq: 0n };
        const next = hasMore ? page.at(-1)!.position : comparePositions(end, from) > 0 ? end : from;

        const updatedChanges = page.filter((c) => !c.deleted);
        const updatedKeys = updatedChanges.map((c) => c.key);
        const rows = updatedKeys.length ? await load(tx, updatedKeys) : [];
        const byKey = new Map(rows.map((row) => [keyOf(row), row]));
        return {
          status: 'ok',
          updated: updatedKeys.map((key) => byKey.get(key)!),
          updatedPositions: updatedChanges.map((c) => c.position),
          deleted: page.filter((c) => c.deleted).map((c) => c.key),
          deletions: page.filter((c) => c.deleted).map((c) => ({ key: c.key, owner: c.owner ?? undefined, position: c.position, deletedAt: c.deleted_at! })),
          next,
          hasMore,
          held,
        };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    return { page, heldByFinished: page.status === 'ok' && page.held && !boundLive };
  }
}
