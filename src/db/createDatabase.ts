import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import pg from 'pg';

/** The drizzle type both drivers share; code above this folder never knows which one it has. */
export type Db = PgDatabase<PgQueryResultHKT>;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` with a drizzle handle bound to one connection for its whole duration, for
   * session-level state such as advisory locks. PGlite has only one connection.
   */
  withConnection<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string. Unset: embedded PGlite. */
  url?: string | undefined;
  /** PGlite data directory; unset or `memory://`: in memory. */
  dataDir?: string | undefined;
  /** node-postgres pool size. @default 10 */
  maxConnections?: number;
  /**
   * What a new embedded database starts from instead of an empty one (`initdb`): a PGlite data
   * directory as a tarball (`dumpDataDir`), or as a directory to copy, for a `dataDir` on disk
   * (a native copy, faster than unpacking through PGlite's file system). See
   * src/system/seededSnapshot.ts. Ignored when `dataDir` already holds a database, and with `url`.
   */
  initialData?: Blob | { directory: string } | undefined;
}

/** Whether `createDatabase({ dataDir })` would create a new embedded database rather than open one. */
export function isNewEmbeddedDatabase(dataDir: string | undefined): boolean {
  return !dataDir || dataDir === 'memory://' || !existsSync(join(dataDir, 'PG_VERSION'));
}

export async function createDatabase({ url, dataDir, maxConnections = 10, initialData }: DatabaseOptions): Promise<Database> {
  if (url) {
    const pool = new pg.Pool({ connectionString: url, max: maxConnections, idleTimeoutMillis: 10_000 });
    // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
    pool.on('error', () => {});
    const db = drizzlePg(pool) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      async withConnection(fn) {
        const client = await pool.connect();
        try {
          return await fn(drizzlePg(client) as unknown as Db);
        } finally {
          client.release();
        }
      },
      async ping() {
        await pool.query('SELECT 1');
      },
      async close() {
        await pool.end();
      },
    };
  }

  const onDisk = dataDir && dataDir !== 'memory://' ? dataDir : undefined;
  const fresh = initialData && isNewEmbeddedDatabase(dataDir) ? initialData : undefined;
  if (onDisk) mkdirSync(onDisk, { recursive: true });
  if (fresh && !(fresh instanceof Blob) && !onDisk) throw new Error('createDatabase: a data directory to copy needs a dataDir on disk; give an in-memory database a tarball');
  if (fresh && !(fresh instanceof Blob)) cpSync(fresh.directory, onDisk!, { recursive: true });
  const loadDataDir = fresh instanceof Blob ? fresh : undefined;
  const inMemory = !dataDir || dataDir === 'memory://';
  const client = await PGlite.create({
    dataDir: dataDir ?? 'memory://',
    ...(loadDataDir ? { loadDataDir } : {}),
    // In memory, the "disk" is memory too: a buffer pool of PostgreSQL's default 128 MB only holds a
    // second copy of pages, and zeroing it is about half a second of CPU at every start (most of a
    // test system's database start). The demo database is under 9 MB, so 16 MB still holds all of it.
    ...(inMemory ? { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] } : {}),
  });
  const db = drizzlePglite(client) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    withConnection: (fn) => fn(db),
    async ping() {
      await db.execute(sql`SELECT 1`);
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}
