import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSchema } from '../../src/bff/createSchema.js';
import { loadPersistedOperations, ManifestError } from '../../src/bff/persisted/index.js';
import { schemaUsage } from '../../src/bff/persisted/schemaUsage.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { buildProject } from '../support/buildProject.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { startNode } from '../support/processes.js';

// Which app versions use which part of the schema, from their manifests, offline (design.md §14):
// three app releases, the oldest still asking for a deprecated field.
const OLD_LIST = operation('ProductList', 'query', 'query ProductList($search: String) { products(first: 20, search: $search) { edges { node { id name thumbnailUrl } } } }');
const NEW_LIST = operation('ProductList', 'query', 'query ProductList($search: String) { products(first: 20, search: $search) { edges { node { id name imageUrl(size: 128) } } } }');
const PROFILE = operation('Profile', 'query', 'query Profile { viewer { id name orders(first: 5, status: CONFIRMED) { edges { node { number } } } } }');
const RENAME = operation('Rename', 'mutation', 'mutation Rename { updateProfile(input: { name: "Ada", expectedVersion: 1 }) { user { name } } }');

const MANIFESTS = {
  'shop-ios-3.9.0.json': [OLD_LIST, PROFILE],
  'shop-ios-4.0.0.json': [NEW_LIST, PROFILE, RENAME],
  'shop-android-4.0.0.json': [NEW_LIST],
};

let dir: string;
beforeAll(() => {
  dir = writeManifests(MANIFESTS);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = createSchema();
const usageOf = (coordinate: string) => schemaUsage(schema, loadPersistedOperations(schema, dir)).find((e) => e.coordinate === coordinate)!;
const versions = (coordinate: string) => usageOf(coordinate).usedBy.map((u) => `${u.clientName} ${u.version}`);

describe('schema usage by app version', () => {
  it('lists every field and argument of the schema, used or not', () => {
    const coordinates = schemaUsage(schema, loadPersistedOperations(schema, dir)).map((e) => e.coordinate);
    for (const field of Object.keys((schema.getType('Product') as any).getFields())) expect(coordinates).toContain(`Product.${field}`);
    expect(coordinates).toContain('Query.products(search:)');
    expect(coordinates).toContain('User.orders(status:)');
    expect(usageOf('Product.description').usedBy).toEqual([]);
  });

  it('names the app versions whose operations use a field, and which operations', () => {
    expect(versions('Product.name')).toEqual(['shop-android 4.0.0', 'shop-ios 3.9.0', 'shop-ios 4.0.0']);
    expect(versions('User.orders')).toEqual(['shop-ios 3.9.0', 'shop-ios 4.0.0']);
    expect(usageOf('Product.thumbnailUrl')).toEqual({
      coordinate: 'Product.thumbnailUrl',
      kind: 'field',
      deprecationReason: 'Use `imageUrl(size: 128)`.',
      usedBy: [{ manifest: 'shop-ios-3.9.0.json', clientName: 'shop-ios', version: '3.9.0', operations: ['ProductList'] }],
    });
  });

  it('names the app versions that pass an argument, an input field or an enum value', () => {
    expect(versions('Product.imageUrl(size:)')).toEqual(['shop-android 4.0.0', 'shop-ios 4.0.0']);
    expect(versions('Query.products(search:)')).toEqual(['shop-android 4.0.0', 'shop-ios 3.9.0', 'shop-ios 4.0.0']);
    expect(versions('UpdateProfileInput.name')).toEqual(['shop-ios 4.0.0']);
    expect(versions('OrderStatus.CONFIRMED')).toEqual(['shop-ios 3.9.0', 'shop-ios 4.0.0']);
    expect(versions('Query.products(last:)')).toEqual([]);
  });
});

describe('npm run schema:usage and npm run persisted:check', () => {
  beforeAll(buildProject, 200_000);

  async function run(script: string, args: string[], env: Record<string, string> = { PERSISTED_QUERIES_DIR: dir }) {
    const child = startNode(script, args, env);
    return { code: await child.exited, output: child.output() };
  }

  it('--deprecated --json: the deprecated fields still used, by app version', async () => {
    const { code, output } = await run('dist/src/bff/persisted/schemaUsageCli.js', ['--deprecated', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(output).appVersions).toEqual([
      {
        manifest: 'shop-ios-3.9.0.json',
        clientName: 'shop-ios',
        version: '3.9.0',
        deprecated: [{ coordinate: 'Product.thumbnailUrl', kind: 'field', deprecationReason: 'Use `imageUrl(size: 128)`.', operations: ['ProductList'] }],
      },
    ]);
  });

  it('--deprecated: the same for people', async () => {
    const { code, output } = await run('dist/src/bff/persisted/schemaUsageCli.js', ['--deprecated']);
    expect(code).toBe(0);
    expect(output).toMatch(/shop-ios 3\.9\.0 \(shop-ios-3\.9\.0\.json\)\n {2}Product\.thumbnailUrl {2}deprecated: Use `imageUrl\(size: 128\)`\. {2}used by ProductList/);
    expect(output).not.toMatch(/shop-ios 4\.0\.0|shop-android/);
  });

  it('without options: every field and argument with the app versions using it', async () => {
    const { code, output } = await run('dist/src/bff/persisted/schemaUsageCli.js', []);
    expect(code).toBe(0);
    expect(output).toMatch(/^Product\.thumbnailUrl \(deprecated\) +shop-ios 3\.9\.0$/m);
    expect(output).toMatch(/^Query\.products\(search:\) +shop-android 4\.0\.0, shop-ios 3\.9\.0, shop-ios 4\.0\.0$/m);
    expect(output).toMatch(/^Product\.description +-$/m);
    const json = await run('dist/src/bff/persisted/schemaUsageCli.js', ['--json']);
    expect(JSON.parse(json.output).elements.find((e: { coordinate: string }) => e.coordinate === 'User.orders(status:)').usedBy.map((u: { manifest: string }) => u.manifest)).toEqual([
      'shop-ios-3.9.0.json',
      'shop-ios-4.0.0.json',
    ]);
  });

  it('persisted:check names every manifest and operation a schema change breaks', async () => {
    // The proposed change: Product.name removed.
    const proposed = mkdtempSync(join(tmpdir(), 'mobile-bff-schema-'));
    try {
      cpSync(join(projectRoot(), 'schema'), proposed, { recursive: true });
      const catalog = join(proposed, 'catalog.graphql');
      writeFileSync(catalog, readFileSync(catalog, 'utf8').replace(/^ {2}name: String!\n/m, ''));
      const { code, output } = await run('dist/src/bff/persisted/checkCli.js', ['--schema', proposed]);
      expect(code).toBe(1);
      for (const file of ['shop-ios-3.9.0.json', 'shop-ios-4.0.0.json', 'shop-android-4.0.0.json']) {
        expect(output).toMatch(new RegExp(`${file.replace(/\./g, '\\.')}: operation ProductList \\([0-9a-f]{64}\\) no longer validates against the schema: Cannot query field "name" on type "Product"`));
      }
      expect(output).toMatch(/Manifests \(app versions\) affected: shop-android-4\.0\.0\.json \(ProductList\); shop-ios-3\.9\.0\.json \(ProductList\); shop-ios-4\.0\.0\.json \(ProductList\)/);
      // The schema as it is still serves them all.
      expect((await run('dist/src/bff/persisted/checkCli.js', [])).code).toBe(0);
    } finally {
      rmSync(proposed, { recursive: true, force: true });
    }
  });

  it('persisted:check refuses a manifest not named <client-name>-<version>.json, naming it', async () => {
    const bad = writeManifests({ 'shop-ios-latest.json': [NEW_LIST], 'first-party.json': [PROFILE] });
    try {
      const { code, output } = await run('dist/src/bff/persisted/checkCli.js', [], { PERSISTED_QUERIES_DIR: bad });
      expect(code).toBe(1);
      expect(output).toMatch(/shop-ios-latest\.json: the name must be <client-name>-<version>\.json/);
      expect(output).not.toMatch(/first-party\.json:/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('manifest names', () => {
  it.each(['shop-ios-4.2.json', 'shop-ios.json', 'shop-ios-v4.2.0.json', '4.2.0.json'])('refuses %s at load', (file) => {
    const bad = writeManifests({ [file]: [NEW_LIST] });
    try {
      expect(() => loadPersistedOperations(schema, bad)).toThrow(ManifestError);
      expect(() => loadPersistedOperations(schema, bad)).toThrow(new RegExp(`${file.replace(/\./g, '\\.')}: the name must be`));
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('reads the client name and the version, pre-release included, from the name', () => {
    const ok = writeManifests({ 'com.example.shop-ios-4.2.0-beta.1.json': [NEW_LIST], 'first-party.json': [PROFILE] });
    try {
      expect(loadPersistedOperations(schema, ok).manifests.map((m) => m.release)).toEqual([{ clientName: 'com.example.shop-ios', version: '4.2.0-beta.1' }, null]);
    } finally {
      rmSync(ok, { recursive: true, force: true });
    }
  });
});
