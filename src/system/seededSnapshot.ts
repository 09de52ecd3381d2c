import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migrateBff } from '../bff/createBff.js';
import { createInProcessBus } from '../bus/index.js';
import { createDatabase } from '../db/index.js';
import { referenceServices } from '../services/referenceServices.js';
import { demoOrders, demoProducts, seedDemoData } from '../services/seed/seedDemoData.js';
import { projectRoot } from '../util/projectRoot.js';

// A new embedded database (PGlite) costs seconds of WebAssembly before its first query: `initdb`
// builds the system catalogs, then every service and the BFF run their migrations and the demo
// data is seeded, on every `npm start` with a new data directory and for every test system. The
// result only depends on the migrations, the demo data and the PGlite version, so it is built once,
// kept as a data-directory tarball in node_modules/.cache/mobile-bff/ under a hash of those, and
// every later new embedded database starts from a copy of it (PGlite's `loadDataDir`): a third of
// the CPU. The migrations still run on top of it at start (no-ops); the seed does not.
// test/system/seededSnapshot.test.ts holds it to being the database the long way makes.

/**
 * Bump when what the snapshot holds, or how it is stored, changes in a way the hashed inputs do not
 * show. 2: an uncompressed tarball (gunzip cost a quarter of a second at every new database).
 */
const FORMAT = 2;

/** Every file of every `migrations` folder under src/, as path and content, sorted. */
function migrationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (!entry.isDirectory()) return [];
      if (entry.name !== 'migrations') return migrationFiles(path);
      const inFolder = (folder: string): string[] =>
        readdirSync(folder, { withFileTypes: true }).flatMap((file) => (file.isDirectory() ? inFolder(join(folder, file.name)) : [join(folder, file.name)]));
      return inFolder(path);
    })
    .sort();
}

function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  let dir = dirname(entry);
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === '@electric-sql/pglite') return manifest.version ?? 'unknown';
    } catch {
      // No package.json here: look further up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** The hash naming the snapshot: the PGlite version, every migration file, the demo data and the code that seeds it. */
export function seededSnapshotKey(): string {
  const root = projectRoot();
  const hash = createHash('sha256');
  hash.update(`format ${FORMAT}\npglite ${pgliteVersion()}\n`);
  for (const file of migrationFiles(join(root, 'src'))) hash.update(`${relative(root, file)}\0`).update(readFileSync(file)).update('\0');
  hash.update(JSON.stringify({ products: demoProducts(), orders: demoOrders() }));
  hash.update(seedDemoData.toString());
  return hash.digest('hex').slice(0, 16);
}

/** Migrates every reference service and the BFF on a new in-memory PGlite, seeds, and dumps its data directory (uncompressed tar). */
async function buildSeededSnapshot(): Promise<Uint8Array<ArrayBuffer>> {
  const database = await createDatabase({ dataDir: 'memory://' });
  const bus = createInProcessBus();
  try {
    for (const create of Object.values(referenceServices)) await create!({ database, bus, tombstoneRetentionDays: 30 }).migrate();
    await migrateBff(database);
    await seedDemoData(database);
    const client = (database.db as unknown as { $client: PGlite }).$client;
    // Written out, so that a database started from it has no write-ahead log to replay.
    await client.exec('CHECKPOINT');
    return new Uint8Array(await (await client.dumpDataDir('none')).arrayBuffer());
  } finally {
    await bus.close();
    await database.close();
  }
}

/**
 * The snapshot as a Blob (what PGlite's `loadDataDir` takes) that hands its bytes to `arrayBuffer()`
 * directly: Node 20 reads a Blob back through a chunked stream and joins the chunks, about 0.6 s of
 * CPU for these 40 MB on every new database. Nor does it copy them: not into a native Blob up
 * front, nor at `arrayBuffer()`, whose result is these bytes themselves and must be only read
 * (PGlite's `loadDataDir` copies each file out of it; fresh 40 MB copies cost a few tenths of a
 * second each on a busy machine, mostly page faults). The bytes are this snapshot's alone: read
 * from the file for each new database, or built, and shared only by databases created at once.
 * The few Blob methods PGlite does not use read from a native Blob made when first needed.
 */
class SnapshotBlob extends Blob {
  readonly #bytes: Uint8Array<ArrayBuffer>;
  #blob: Blob | undefined;

  constructor(bytes: Uint8Array<ArrayBuffer>) {
    super([]);
    this.#bytes = bytes;
  }

  #native(): Blob {
    return (this.#blob ??= new Blob([this.#bytes]));
  }

  override get size(): number {
    return this.#bytes.byteLength;
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#bytes;
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(this.#bytes);
  }

  override async text(): Promise<string> {
    return new TextDecoder().decode(this.#bytes);
  }

  override slice(start?: number, end?: number, contentType?: string): Blob {
    return this.#native().slice(start, end, contentType);
  }

  override stream(): ReturnType<Blob['stream']> {
    return this.#native().stream();
  }
}

/**
 * Whether `bytes` look like a whole tar archive: a multiple of 512 bytes, a first header whose
 * checksum is right, two zero blocks at the end. The cache file is written under another name and
 * renamed, so it is never half written; this catches a file damaged or replaced since.
 */
function isTarball(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 1536 || bytes.byteLength % 512 !== 0) return false;
  if (bytes.subarray(bytes.byteLength - 1024).some((b) => b !== 0)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : bytes[i]!;
  const recorded = parseInt(Buffer.from(bytes.subarray(148, 156)).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  return recorded === sum;
}

/** Snapshots being read or built in this process, by file. */
const built = new Map<string, Promise<Blob>>();

const defaultCacheDir = () => join(projectRoot(), 'node_modules', '.cache', 'mobile-bff');

/**
 * A PGlite data directory with every reference service's and the BFF's migrations applied and the
 * demo data seeded, for `createDatabase({ initialData })`. Read from the cache folder when it
 * holds one for the current migrations and seed; otherwise built (seconds) and stored there
 * (an uncompressed tarball, 40 MB: read in milliseconds, where gunzip took a quarter of a second
 * at every new database), replacing older ones. A cache folder that cannot be written only costs
 * the next process the build again.
 */
export function seededSnapshot({ cacheDir = defaultCacheDir() }: { cacheDir?: string } = {}): Promise<Blob> {
  const key = seededSnapshotKey();
  const file = join(cacheDir, `pglite-seeded-${key}.tar`);
  let snapshot = built.get(file);
  if (!snapshot) {
    snapshot = (async () => {
      try {
        const cached = readFileSync(file);
        if (isTarball(cached)) return new SnapshotBlob(new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength) as Uint8Array<ArrayBuffer>);
      } catch {
        // Not cached yet (or unreadable): build it.
      }
      const tar = await buildSeededSnapshot();
      try {
        mkdirSync(cacheDir, { recursive: true });
        // Written under a name of its own and renamed: processes building at once never see half a file.
        const partial = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
        writeFileSync(partial, tar);
        renameSync(partial, file);
        for (const name of readdirSync(cacheDir)) {
          if (name.startsWith('pglite-seeded-') && !name.includes(key) && !name.endsWith('.partial')) rmSync(join(cacheDir, name), { recursive: true, force: true });
        }
      } catch {
        // A read-only installation: every process builds its own.
      }
      return new SnapshotBlob(tar);
    })();
    // Shared while being read or built, then let go: a process keeps no 40 MB copy it no longer needs.
    built.set(file, snapshot);
    const forget = () => built.delete(file);
    snapshot.then(forget, forget);
  }
  return snapshot;
}

/**
 * The seeded snapshot unpacked, as a data directory in the cache folder, for a new database on
 * disk (`createDatabase({ initialData: { directory } })`): copying a directory is native, while
 * PGlite unpacks a tarball file by file through its WebAssembly file system. Unpacked (by PGlite)
 * on first use; undefined when the cache folder cannot be written (then use the tarball).
 */
export async function seededSnapshotDirectory({ cacheDir = defaultCacheDir() }: { cacheDir?: string } = {}): Promise<string | undefined> {
  const directory = join(cacheDir, `pglite-seeded-${seededSnapshotKey()}`);
  if (existsSync(join(directory, 'PG_VERSION'))) return directory;
  const tarball = await seededSnapshot({ cacheDir });
  const partial = `${directory}.${process.pid}-${randomBytes(4).toString('hex')}.partial`;
  try {
    mkdirSync(partial, { recursive: true });
    const client = await PGlite.create({ dataDir: partial, loadDataDir: tarball });
    await client.close();
    try {
      renameSync(partial, directory);
    } catch {
      // Another process unpacked it first.
      rmSync(partial, { recursive: true, force: true });
    }
    return existsSync(join(directory, 'PG_VERSION')) ? directory : undefined;
  } catch {
    rmSync(partial, { recursive: true, force: true });
    return undefined;
  }
}
