import type { SQL } from 'drizzle-orm';
import type { Db } from './createDatabase.js';

/** Runs raw SQL and returns its rows; both drivers answer `{ rows }`, which drizzle's shared type leaves `unknown`. */
export async function selectRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
