import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../../src/config/loadConfig.js';
import { createDatabase, selectRows, type Database } from '../../src/db/index.js';
import { seededSnapshot, seededSnapshotDirectory, seededSnapshotKey } from '../../src/system/seededSnapshot.js';
import { startSystem } from '../../src/system/startSystem.js';

// A new embedded database starts from a snapshot of a migrated, seeded one (src/system/seededSnapshot.ts)
// instead of initdb, migrations and seed. These tests hold it to being the same database, and
// the cache under node_modules/.cache to being read, not rebuilt, and rebuilt when damaged.
// Embedded only, whatever DATABASE_URL says: the snapshot is PGlite's. Each test builds a database
// the long way (initdb: seconds of WebAssembly, minutes on a busy machine), hence their timeouts.

const config = () =>
  loadConfig({ NODE_ENV: 'test', PORT: '0', DATA_DIR: 'memory://', LOG_LEVEL: 'silent', RATE_LIMIT_PER_SECOND: '0', OVERLOAD_EVENT_LOOP_DELAY_MS: '0' });

/**
 * What a database holds, apart from what differs between two equal histories (transaction ids,
 * now() stamps): every table's columns, indexes, triggers and rows in the services' and the BFF's
 * schemas, and the migrations each recorded.
 */
async function contents(database: Database) {
  const schemas = ['users', 'catalog', 'orders', 'notifications', 'bff'];
  const inSchemas = `(${schemas.map((s) => `'${s}'`).join(', ')})`;
  const columns = await selectRows<{ table_schema: string; table_name: string; column_name: string; data_type: string; column_default: string | null }>(
    database.db,
    sql.raw(`SELECT table_schema, table_name, column_name, data_type, column_default FROM information_schema.columns WHERE table_schema IN ${inSchemas} ORDER BY 1, 2, 3`),
  );
  const indexes = await selectRows(database.db, sql.raw(`SELECT schemaname, tablename, indexdef FROM pg_indexes WHERE schemaname IN ${inSchemas} ORDER BY 1, 2, 3`));
  const triggers = await selectRows(database.db, sql.raw(`SELECT trigger_schema, event_object_table, trigger_name, event_manipulation, action_statement FROM information_schema.triggers WHERE trigger_schema IN ${inSchemas} ORDER BY 1, 2, 3, 4`));
  // Not feed_positions: the notifications service writes where it read the orders feed once running.
  const tables = [...new Set(columns.filter((c) => !['__migrations', 'feed_positions'].includes(c.table_name)).map((c) => `"${c.table_schema}"."${c.table_name}"`))];
  const rows: Record<string, unknown> = {};
  for (const table of tables) {
    const row = `(to_jsonb(t) - 'created_at' - 'updated_at' - 'change_xid' - 'due_at' - 'deleted_at')::text`;
    const [summary] = await selectRows<{ n: number; digest: string | null }>(database.db, sql.raw(`SELECT count(*)::int AS n, md5(string_agg(${row}, ',' ORDER BY ${row})) AS digest FROM ${table} t`));
    rows[table] = summary;
  }
  const migrations: Record<string, unknown> = {};
  for (const schema of schemas) migrations[schema] = await selectRows(database.db, sql.raw(`SELECT hash, created_at FROM "${schema}"."__migrations" ORDER BY id`));
  return { columns, indexes, triggers, rows, migrations };
}

describe('a new embedded database started from the seeded snapshot', () => {
  it('is the database that migrating and seeding make', async () => {
    // The long way, as startSystem takes it without a snapshot: initdb, every migration, the seed.
    const scratch = await createDatabase({ dataDir: 'memory://' });
    let expected;
    try {
      const system = await startSystem({ config: config(), database: scratch });
      await system.stop();
      expected = await contents(scratch);
    } finally {
      await scratch.close();
    }
    expect(Object.keys(expected.rows).length).toBeGreaterThan(5);
    expect((expected.rows['"catalog"."products"'] as { n: number }).n).toBe(200);
    expect((expected.rows['"orders"."orders"'] as { n: number }).n).toBe(60);

    // The short way: what startSystem does with a new in-memory database (the tarball)...
    const system = await startSystem({ config: config() });
    try {
      expect(system.database.kind).toBe('pglite');
      expect(await contents(system.database)).toEqual(expected);
    } finally {
      await system.stop();
    }
    // ...and with a new data directory on disk (a copy of the unpacked snapshot), as `npm start` first does.
    const dataDir = mkdtempSync(join(tmpdir(), 'mobile-bff-data-'));
    try {
      const onDisk = await startSystem({ config: { ...config(), dataDir } });
      try {
        expect(existsSync(join(dataDir, 'pglite', 'PG_VERSION'))).toBe(true);
        expect(await contents(onDisk.database)).toEqual(expected);
      } finally {
        await onDisk.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('the snapshot cache', () => {
  const dirs: string[] = [];
  const cacheDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'mobile-bff-snapshot-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const file = (dir: string) => join(dir, `pglite-seeded-${seededSnapshotKey()}.tar`);

  it('rebuilds a damaged snapshot, replaces older ones, unpacks it once for disk, and is read, not rebuilt, once written', async () => {
    const first = cacheDir();
    writeFileSync(file(first), 'not a tar file');
    writeFileSync(join(first, 'pglite-seeded-0000000000000000.tar.gz'), 'a snapshot of older migrations');
    const built = new Uint8Array(await (await seededSnapshot({ cacheDir: first })).arrayBuffer());
    expect(readdirSync(first)).toEqual([`pglite-seeded-${seededSnapshotKey()}.tar`]);
    // Unpacked once for databases on disk, beside it.
    const directory = await seededSnapshotDirectory({ cacheDir: first });
    expect(directory).toBe(join(first, `pglite-seeded-${seededSnapshotKey()}`));
    expect(existsSync(join(directory!, 'PG_VERSION'))).toBe(true);
    expect(await seededSnapshotDirectory({ cacheDir: first })).toBe(directory);
    expect(readFileSync(file(first)).equals(built)).toBe(true);

    // Another process (here: another cache folder holding that file) reads it, and leaves the
    // file as it is (a build would have replaced it: another inode).
    const second = cacheDir();
    copyFileSync(file(first), file(second));
    const inode = statSync(file(second)).ino;
    const read = new Uint8Array(await (await seededSnapshot({ cacheDir: second })).arrayBuffer());
    expect(Buffer.from(read).equals(Buffer.from(built))).toBe(true);
    expect(statSync(file(second)).ino).toBe(inode);

    // And it starts a database that answers.
    const database = await createDatabase({ dataDir: 'memory://', initialData: new Blob([read]) });
    try {
      expect(await selectRows<{ n: number }>(database.db, sql.raw('SELECT count(*)::int AS n FROM catalog.products'))).toEqual([{ n: 200 }]);
    } finally {
      await database.close();
    }
  }, 240_000);
});
