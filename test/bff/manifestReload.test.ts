import { mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging/createLogger.js';
import { operation, writeManifests, type ManifestOperation } from '../support/apolloManifest.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Shipping and retiring an app release without a restart (design.md §14): the manifest folder is
// watched, and every change is validated exactly as at start before it serves.
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name } } } }');
const PRODUCT_NAMES = operation('ProductNames', 'query', 'query ProductNames { products(first: 3) { edges { node { name } } } }');
const PRODUCT_SKUS = operation('ProductSkus', 'query', 'query ProductSkus { products(first: 3) { edges { node { sku } } } }');
const BROKEN = operation('OldScreen', 'query', 'query OldScreen { products(first: 1) { edges { node { legacyRating } } } }');

/** The README's promise: a change serves within 5 seconds. */
const DOCUMENTED_MS = 5_000;

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'shop-ios-1.0.0.json': [CATALOG] });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, {}, { logger: createLogger({ level: 'info' }, sink) });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const writeManifest = (file: string, operations: ManifestOperation[]) =>
  writeFileSync(join(dir, file), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }, null, 2));

async function byHash(op: ManifestOperation) {
  const response = await fetch(system.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operationName: op.name, variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: op.id } } }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}
const serves = async (op: ManifestOperation) => (await byHash(op)).status === 200;

/** Polls `condition` until it holds; fails once `ms` have passed. A deadline, not a sleep: it returns as soon as the condition holds. */
async function within(ms: number, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const reloads = async (result: 'applied' | 'refused') =>
  (await system.bff.metrics.registry.getSingleMetric('bff_persisted_manifest_reloads_total')!.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

describe('manifests reloaded while the server runs', () => {
  it('serves a manifest added to the folder within the documented time', async () => {
    expect((await byHash(PRODUCT_NAMES)).body.errors![0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    writeManifest('shop-ios-1.1.0.json', [CATALOG, PRODUCT_NAMES]);
    await within(DOCUMENTED_MS, () => serves(PRODUCT_NAMES));
    expect((await byHash(PRODUCT_NAMES)).body.data.products.edges).toHaveLength(3);
  });

  it('refuses a manifest that does not validate, logs why, and the previous set keeps serving', async () => {
    const refusedBefore = await reloads('refused');
    writeManifest('shop-ios-1.2.0.json', [PRODUCT_SKUS, BROKEN]);
    await within(DOCUMENTED_MS, async () => (await reloads('refused')) > refusedBefore);
    expect(await serves(CATALOG)).toBe(true);
    expect(await serves(PRODUCT_NAMES)).toBe(true);
    // Nothing of the refused manifest serves, not even its valid operations.
    expect((await byHash(PRODUCT_SKUS)).body.errors![0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const logged = lines.map((l) => JSON.parse(l)).find((l) => /manifests refused/.test(l.msg) && /shop-ios-1\.2\.0\.json: operation OldScreen/.test(l.err?.message));
    expect(logged).toBeDefined();
  });

  it('serves the fixed manifest once it is replaced', async () => {
    writeManifest('shop-ios-1.2.0.json', [PRODUCT_SKUS]);
    await within(DOCUMENTED_MS, () => serves(PRODUCT_SKUS));
  });

  it('refuses a manifest not named for an app release, naming the file', async () => {
    const refusedBefore = await reloads('refused');
    writeManifest('latest.json', [PRODUCT_SKUS]);
    await within(DOCUMENTED_MS, async () => (await reloads('refused')) > refusedBefore);
    expect(lines.some((l) => /latest\.json: the name must be <client-name>-<version>\.json/.test(JSON.parse(l).err?.message ?? ''))).toBe(true);
    expect(await serves(PRODUCT_SKUS)).toBe(true);
    unlinkSync(join(dir, 'latest.json'));
  });

  it('retires a release whose manifest is removed', async () => {
    unlinkSync(join(dir, 'shop-ios-1.1.0.json'));
    await within(DOCUMENTED_MS, async () => !(await serves(PRODUCT_NAMES)));
    expect((await byHash(PRODUCT_NAMES)).body.errors![0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    expect(await serves(CATALOG)).toBe(true);
  });

  it('refuses, in require mode, a reload that would leave no operation (every request refused), as start-up does', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'manifests-empty-'));
    const refusedBefore = await reloads('refused');
    for (const file of readdirSync(dir)) renameSync(join(dir, file), join(empty, file));
    try {
      await within(DOCUMENTED_MS, async () => (await reloads('refused')) > refusedBefore);
      // (a reload between two of the moves may have applied a smaller set; never an empty one)
      expect(system.bff.operations.byId.size).toBeGreaterThan(0);
      expect(lines.some((l) => /no persisted operation left/.test(JSON.parse(l).err?.message ?? ''))).toBe(true);
    } finally {
      for (const file of readdirSync(empty)) renameSync(join(empty, file), join(dir, file));
      rmSync(empty, { recursive: true, force: true });
    }
    await within(DOCUMENTED_MS, () => system.bff.operations.files.length === 2);
  });

  it('reloads on demand (SIGHUP) with the same validation', async () => {
    writeManifest('shop-ios-9.0.0.json', [BROKEN]);
    expect(system.bff.reloadPersistedOperations()).toBe(false);
    expect(await serves(CATALOG)).toBe(true);
    unlinkSync(join(dir, 'shop-ios-9.0.0.json'));
    expect(system.bff.reloadPersistedOperations()).toBe(true);
    expect(system.bff.operations.files).toEqual(['shop-ios-1.0.0.json', 'shop-ios-1.2.0.json']);
  });
});
