import { randomUUID } from 'node:crypto';
import { and, eq, lte, sql } from 'drizzle-orm';
import { selectRows, type Database } from '../../db/index.js';
import { idempotencyKeys } from './idempotencyTables.js';

/** Who used which key on which field: the primary key of a stored key. */
export interface KeyId {
  userId: string;
  /** The mutation field, e.g. `placeOrder`. */
  field: string;
  /** The client's key. */
  key: string;
}

/** This attempt holds the key: run the mutation, then `complete` or `release`. */
export interface AcquiredClaim {
  kind: 'acquired';
  id: KeyId;
  /** Names the logical request across all its attempts: the downstream write carries it as its own key. */
  requestId: string;
  /** Names this attempt; only the holder may complete or release. */
  owner: string;
}

export type Claim =
  | AcquiredClaim
  /** An earlier attempt with the same arguments finished: its outcome, to answer again. */
  | { kind: 'finished'; result: unknown }
  /** The key was first used with other arguments. */
  | { kind: 'reused' }
  /** Another attempt holds the key and its lock has not timed out. */
  | { kind: 'inUse' };

export interface IdempotencyStoreOptions {
  database: Database;
  /** How long a key lives from its first use. */
  keyTtlMs: number;
  /** How long an attempt holds a key before a retry may take it over. */
  lockTimeoutMs: number;
}

// A claim that lost every race this many times answers `inUse`: the client retries later.
const MAX_CLAIM_ROUNDS = 5;
const PURGE_BATCH = 1000;

/**
 * Idempotency keys in PostgreSQL (`bff.idempotency_keys`). The database decides between
 * concurrent attempts on any number of instances: a key is created by `INSERT … ON CONFLICT DO
 * NOTHING`, and taken over (lock timed out, or key expired) by an `UPDATE` whose `WHERE` still
 * holds only for the one attempt that wins. Times are the database's `now()`, never a process
 * clock, so instances with skewed clocks agree.
 */
export function createIdempotencyStore({ database, keyTtlMs, lockTimeoutMs }: IdempotencyStoreOptions) {
  const { db } = database;
  const t = idempotencyKeys;
  const lockedUntil = () => sql`now() + ${lockTimeoutMs} * interval '1 millisecond'`;
  const expiresAt = () => sql`now() + ${keyTtlMs} * interval '1 millisecond'`;
  const isKey = (id: KeyId) => and(eq(t.userId, id.userId), eq(t.field, id.field), eq(t.key, id.key));

  /** Creates the key, or reads it and decides: answer again, refuse, or take over a dead attempt. */
  async function claim(id: KeyId, fingerprint: string): Promise<Claim> {
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const owner = randomUUID();
      const [created] = await db
        .insert(t)
        .values({ ...id, requestId: randomUUID(), fingerprint, state: 'running', owner, lockedUntil: lockedUntil(), expiresAt: expiresAt() })
        .onConflictDoNothing()
        .returning({ requestId: t.requestId });
      if (created) return { kind: 'acquired', id, requestId: created.requestId, owner };

      const [row] = await db
        .select({
          fingerprint: t.fingerprint,
          state: t.state,
          result: t.result,
          expired: sql<boolean>`${t.expiresAt} <= now()`,
          lockTimedOut: sql<boolean>`${t.lockedUntil} <= now()`,
        })
        .from(t)
        .where(isKey(id));
      if (!row) continue; // purged between the two statements

      if (row.expired) {
        // Not yet purged: the key is as good as new, and so is the logical request.
        const [renewed] = await db
          .update(t)
          .set({ requestId: randomUUID(), fingerprint, state: 'running', owner, result: null, lockedUntil: lockedUntil(), createdAt: sql`now()`, expiresAt: expiresAt() })
          .where(and(isKey(id), lte(t.expiresAt, sql`now()`)))
          .returning({ requestId: t.requestId });
        if (renewed) return { kind: 'acquired', id, requestId: renewed.requestId, owner };
        continue;
      }
      if (row.fingerprint !== fingerprint) return { kind: 'reused' };
      if (row.state === 'done') return { kind: 'finished', result: row.result };
      if (!row.lockTimedOut) return { kind: 'inUse' };

      // The holder failed (and released the key) or died: this attempt carries on with the same request id.
      const [taken] = await db
        .update(t)
        .set({ owner, lockedUntil: lockedUntil() })
        .where(and(isKey(id), eq(t.state, 'running'), lte(t.lockedUntil, sql`now()`)))
        .returning({ requestId: t.requestId });
      if (taken) return { kind: 'acquired', id, requestId: taken.requestId, owner };
    }
    return { kind: 'inUse' };
  }

  /**
   * Stores the outcome. `false` when this attempt no longer held the key (its lock timed out and
   * a retry took over): that retry carries the same request id downstream, so it reaches the same
   * outcome and stores it.
   */
  async function complete(claimed: AcquiredClaim, result: unknown): Promise<boolean> {
    const rows = await db
      .update(t)
      .set({ state: 'done', result, owner: null, lockedUntil: sql`now()` })
      .where(and(isKey(claimed.id), eq(t.owner, claimed.owner), eq(t.state, 'running')))
      .returning({ requestId: t.requestId });
    return rows.length > 0;
  }

  /** Lets the next retry run at once. The key stays bound to its arguments: the failed attempt may have written downstream. */
  async function release(claimed: AcquiredClaim): Promise<void> {
    await db
      .update(t)
      .set({ owner: null, lockedUntil: sql`now()` })
      .where(and(isKey(claimed.id), eq(t.owner, claimed.owner), eq(t.state, 'running')));
  }

  /** Deletes expired keys, in batches; resolves with how many. Safe to run on every instance at once. */
  async function purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const [deleted] = await selectRows<{ count: number }>(
        db,
        sql`WITH gone AS (
              DELETE FROM ${t} WHERE (${t.userId}, ${t.field}, ${t.key}) IN (
                SELECT ${t.userId}, ${t.field}, ${t.key} FROM ${t} WHERE ${t.expiresAt} <= now() LIMIT ${PURGE_BATCH}
              ) AND ${t.expiresAt} <= now()
              RETURNING 1
            )
            SELECT count(*)::int AS count FROM gone`,
      );
      total += deleted!.count;
      if (deleted!.count < PURGE_BATCH) return total;
    }
  }

  return { claim, complete, release, purgeExpired };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
