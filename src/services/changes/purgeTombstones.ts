import { sql } from 'drizzle-orm';
import { selectRows, type Db } from '../../db/index.js';
import type { ChangeFeed } from './ChangeFeed.js';

/**
 * Deletes the feed's tombstones of deletions before `olderThan` and, in the same statement (so
 * no reader ever sees one without the other), raises the feed's horizon to the latest position
 * among them: a client whose position is behind the horizon may have missed one of those
 * deletions, and its next pull is refused as expired. Resolves with how many were deleted.
 */
export async function purgeTombstones(db: Db, feed: ChangeFeed, { olderThan }: { olderThan: Date }): Promise<number> {
  const tombstones = sql`${sql.identifier(feed.schema)}.${sql.identifier(feed.tombstones)}`;
  const horizons = sql`${sql.identifier(feed.schema)}.change_feed_horizons`;
  const [result] = await selectRows<{ purged: number }>(
    db,
    sql`WITH purged AS (
          DELETE FROM ${tombstones} WHERE deleted_at < ${olderThan.toISOString()}::timestamptz RETURNING change_xid, change_seq
        ), latest AS (
          SELECT change_xid, change_seq FROM purged ORDER BY change_xid DESC, change_seq DESC LIMIT 1
        ), horizon AS (
          INSERT INTO ${horizons} AS h (feed, horizon_xid, horizon_seq)
          SELECT ${feed.name}, change_xid, change_seq FROM latest
          ON CONFLICT (feed) DO UPDATE SET horizon_xid = excluded.horizon_xid, horizon_seq = excluded.horizon_seq, purged_at = now()
            WHERE (excluded.horizon_xid, excluded.horizon_seq) > (h.horizon_xid, h.horizon_seq)
          RETURNING 1
        )
        SELECT count(*)::int AS purged FROM purged`,
  );
  return result!.purged;
}
