import { and, asc, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../../db/index.js';
import { parseKeyset, parseLimit } from './createServiceApp.js';

/** A list ordering over two columns, the second unique (the primary key as final tie-breaker). */
export interface KeysetOrdering {
  columns: readonly [AnyColumn, AnyColumn];
  /** `true`: newest / largest first. */
  descending: boolean;
  /** The SQL row value for a position, e.g. sql`(${v[0]}::timestamptz, ${v[1]})`. */
  position(values: readonly unknown[]): SQL;
}

export interface KeysetPageRequest {
  filters: SQL[];
  after: readonly unknown[] | undefined;
  before: readonly unknown[] | undefined;
  backward: boolean;
  limit: number;
}

/**
 * One page of a keyset list, in list order, with exact `hasNext` and `hasPrevious`: the page is
 * read with one extra row in the direction of travel, and the other side is one indexed
 * `EXISTS` probe, made only when a cursor bounds that side. Positions are values, not rows, so a
 * cursor stays valid after its row is deleted.
 */
export async function keysetPage<Row>(db: Db, table: PgTable, ordering: KeysetOrdering, request: KeysetPageRequest) {
  const { filters, after, before, backward, limit } = request;
  const rows = (await keysetPageQuery(db, table, ordering, request)) as Row[];
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  if (backward) items.reverse();

  const row = sql`(${ordering.columns[0]}, ${ordering.columns[1]})`;
  const notLater = sql.raw(ordering.descending ? '>=' : '<=');
  const notEarlier = sql.raw(ordering.descending ? '<=' : '>=');
  const beyond = backward ? (before ? sql`${row} ${notEarlier} ${ordering.position(before)}` : undefined) : after ? sql`${row} ${notLater} ${ordering.position(after)}` : undefined;
  const otherSide = beyond ? (await db.select({ one: sql`1` }).from(table).where(and(...filters, beyond)).limit(1)).length > 0 : false;
  return { items, hasNext: backward ? otherSide : more, hasPrevious: backward ? more : otherSide };
}

/** The page's rows in the direction of travel, plus one: the query itself, unexecuted (tests EXPLAIN it). */
export function keysetPageQuery(db: Db, table: PgTable, ordering: KeysetOrdering, { filters, after, before, backward, limit }: KeysetPageRequest) {
  const row = sql`(${ordering.columns[0]}, ${ordering.columns[1]})`;
  // "Later in the list" is `>` ascending and `<` descending.
  const later = sql.raw(ordering.descending ? '<' : '>');
  const earlier = sql.raw(ordering.descending ? '>' : '<');
  const window = [...filters];
  if (after) window.push(sql`${row} ${later} ${ordering.position(after)}`);
  if (before) window.push(sql`${row} ${earlier} ${ordering.position(before)}`);
  const reverse = ordering.descending !== backward;
  const order = ordering.columns.map((c) => (reverse ? desc(c) : asc(c)));
  return db.select().from(table).where(and(...window)).orderBy(...order).limit(limit + 1);
}

/**
 * The keyset part of a list endpoint's query string (`limit`, `after`, `before`, `direction`),
 * for an ordering of two columns; the field at fault and a message for anything malformed.
 */
export function parseKeysetQuery(q: Record<string, string | undefined>): Omit<KeysetPageRequest, 'filters'> | { field: string; message: string } {
  const limit = parseLimit(q.limit);
  const after = parseKeyset(q.after, 2);
  const before = parseKeyset(q.before, 2);
  for (const [field, v] of [['limit', limit], ['after', after], ['before', before]] as const) {
    if (typeof v === 'string') return { field, message: `${field}: ${v}` };
  }
  return { limit: limit as number, after: after as unknown[] | undefined, before: before as unknown[] | undefined, backward: q.direction === 'backward' };
}
