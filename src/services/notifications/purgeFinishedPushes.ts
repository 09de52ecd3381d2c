import { sql } from 'drizzle-orm';
import { selectRows, type Database } from '../../db/index.js';

export interface PurgeFinishedPushesOptions {
  /** Finished rows created before this are deleted. */
  olderThan: Date;
  /** Rows per DELETE statement, so one run never holds many locks or one long transaction. @default 1000 */
  batchSize?: number;
  /** Asked between batches: true stops the run (shutdown). */
  stopped?: () => boolean;
}

/**
 * Deletes the outbox rows that are finished — sent, or given up (`failed_reason`) — and were
 * created before `olderThan`, in batches; rows still to send (pending, leased, waiting for a
 * retry) are never touched. Safe with several instances at once (SKIP LOCKED; a row is deleted
 * once). A finished row is only history: the consumer never turns a change into pushes twice (the
 * feed position moves in the same transaction as the inserts), so deleting it cannot bring a push
 * back. Resolves with how many rows it deleted.
 */
export async function purgeFinishedPushes(database: Database, { olderThan, batchSize = 1000, stopped = () => false }: PurgeFinishedPushesOptions): Promise<number> {
  let total = 0;
  for (;;) {
    const [row] = await selectRows<{ n: number }>(
      database.db,
      sql`WITH gone AS (
            DELETE FROM notifications.push_outbox WHERE push_id IN (
              SELECT push_id FROM notifications.push_outbox
              WHERE (sent_at IS NOT NULL OR failed_reason IS NOT NULL) AND created_at < ${olderThan.toISOString()}::timestamptz
              LIMIT ${batchSize} FOR UPDATE SKIP LOCKED)
            RETURNING 1)
          SELECT count(*)::int AS n FROM gone`,
    );
    const n = row?.n ?? 0;
    total += n;
    if (n < batchSize || stopped()) return total;
  }
}
