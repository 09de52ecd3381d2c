import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProject } from '../support/buildProject.js';
import { operation, writeManifests, type ManifestOperation } from '../support/apolloManifest.js';
import { startNode, type RunningProcess } from '../support/processes.js';

// `kill -HUP` reloads the manifest folder of a running server (npm start), validated as at start.
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name } } } }');
const SKUS = operation('ProductSkus', 'query', 'query ProductSkus { products(first: 2) { edges { node { sku } } } }');
const BROKEN = operation('OldScreen', 'query', 'query OldScreen { products(first: 1) { edges { node { legacyRating } } } }');

let dir: string;
let bff: RunningProcess | undefined;
let url: string;
beforeAll(async () => {
  await buildProject();
  dir = writeManifests({ 'shop-ios-1.0.0.json': [CATALOG] });
  bff = startNode('dist/src/main.js', [], { PORT: '0', DATA_DIR: 'memory://', PERSISTED_OPERATIONS: 'require', PERSISTED_QUERIES_DIR: dir, LOG_LEVEL: 'info' });
  [, url] = (await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/)) as unknown as [string, string];
}, 200_000);
afterAll(async () => {
  await bff?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const writeManifest = (file: string, operations: ManifestOperation[]) =>
  writeFileSync(join(dir, file), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }));
async function status(op: ManifestOperation) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operationName: op.name, extensions: { persistedQuery: { version: 1, sha256Hash: op.id } } }),
  });
  return response.status;
}
const count = (pattern: RegExp) => (bff!.output().match(new RegExp(pattern, 'g')) ?? []).length;

describe('SIGHUP', () => {
  it('reloads the manifests, and the process keeps running', async () => {
    writeManifest('shop-ios-1.1.0.json', [CATALOG, SKUS]);
    const before = count(/SIGHUP: reloading/);
    bff!.child.kill('SIGHUP');
    await bff!.waitFor(new RegExp(`(?:[\\s\\S]*SIGHUP: reloading){${before + 1}}`), 20_000);
    await bff!.waitFor(/persisted-operation manifests reloaded/, 20_000);
    expect(bff!.child.exitCode).toBeNull();
    expect(await status(SKUS)).toBe(200);
  }, 60_000);

  it('refuses a broken manifest, logging it, and the previous set keeps serving', async () => {
    writeManifest('shop-ios-1.2.0.json', [BROKEN]);
    bff!.child.kill('SIGHUP');
    await bff!.waitFor(/manifests refused[\s\S]*shop-ios-1\.2\.0\.json: operation OldScreen|shop-ios-1\.2\.0\.json: operation OldScreen[\s\S]*manifests refused/, 20_000);
    expect(bff!.child.exitCode).toBeNull();
    expect(await status(CATALOG)).toBe(200);
    expect(await status(SKUS)).toBe(200);
  }, 60_000);
});
