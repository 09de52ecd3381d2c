import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { migrate as drizzleMigrate } from 'drizzle-orm/node-postgres/migrator';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Database } from './createDatabase.js';

/**
 * Applies the drizzle migrations in `folder` (a `meta/_journal.json` and its `.sql` files),
 * recording them in `<schema>.__migrations`. Each owner (a service, the BFF) has its own
 * schema, folder and journal. Several processes may start at once: a PostgreSQL advisory lock
 * keyed on the schema makes them take turns.
 */
export async function migrate(database: Database, { schema, folder }: { schema: string; folder: string }): Promise<void> {
  const lockKey = createHash('sha256').update(`mobile-bff:migrate:${schema}`).digest().readBigInt64BE(0);
  await database.withConnection(async (db) => {
    await db.execute(sql`SELECT pg_advisory_lock(${lockKey})`);
    try {
      // Both drivers share drizzle's dialect migrator; the node-postgres entry only differs in its types.
      await drizzleMigrate(db as unknown as NodePgDatabase, {
        migrationsFolder: folder,
        migrationsSchema: schema,
        migrationsTable: '__migrations',
      });
    } finally {
      await db.execute(sql`SELECT pg_advisory_unlock(${lockKey})`);
    }
  });
}
