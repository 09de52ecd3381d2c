import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Plugin } from 'graphql-yoga';
import { signDevToken } from '../../src/auth/index.js';
import { loadPersistedOperations, ManifestError } from '../../src/bff/persisted/index.js';
import { createSchema } from '../../src/bff/createSchema.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Persisted operations as Apollo Kotlin / Apollo iOS send them (design.md §3), in `require` mode.
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name price { amount currency } } } } }');
const VIEWER = operation('Me', 'query', 'query Me { viewer { id name } }');
const BIG = operation('BigCatalog', 'query', 'query BigCatalog { products(first: 100) { edges { node { id sku name description price { amount currency } } } } }');
const RENAME = operation('Rename', 'mutation', 'mutation Rename($input: UpdateProfileInput!) { updateProfile(input: $input) { user { name } userErrors { code } } }');
const NOT_LISTED = 'b'.repeat(64);

const APOLLO_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', 'apollographql-client-name': 'shop-android', 'apollographql-client-version': '4.2.0' };

let dir: string;
let system: TestSystem;
const counts = { parse: 0, validate: 0 };
/** Counts the parses and validations that really run (not served from a prepared document or cache). */
const countWork: Plugin = {
  onParse: ({ parseFn, setParseFn }) => setParseFn((...args: Parameters<typeof parseFn>) => (counts.parse++, parseFn(...args))),
  onValidate: ({ validateFn, setValidationFn }) => setValidationFn((...args: Parameters<typeof validateFn>) => (counts.validate++, validateFn(...args))),
};

beforeAll(async () => {
  dir = writeManifests({ 'shop-android-4.2.0.json': [CATALOG, VIEWER, RENAME], 'shop-ios-7.1.0.json': [CATALOG, BIG] });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, {}, { bffPlugins: [countWork] });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const byHash = (op: { id: string; name: string }, variables?: Record<string, unknown>) => ({
  operationName: op.name,
  variables: variables ?? {},
  extensions: { clientLibrary: { name: 'apollo-kotlin', version: '4.1.0' }, persistedQuery: { version: 1, sha256Hash: op.id } },
});

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(system.url, { method: 'POST', headers: { ...APOLLO_HEADERS, ...headers }, body: JSON.stringify(body) });
  return { response, body: (await response.json()) as { data?: any; errors?: any[] } };
}

function getUrl(op: { id: string; name: string }, variables: Record<string, unknown> = {}) {
  const url = new URL(system.url);
  url.searchParams.set('operationName', op.name);
  url.searchParams.set('variables', JSON.stringify(variables));
  url.searchParams.set('extensions', JSON.stringify({ persistedQuery: { version: 1, sha256Hash: op.id } }));
  return url;
}

function expectRejection(response: Response, body: { data?: unknown; errors?: any[] }, code: string, message?: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  expect(response.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
  expect(body).not.toHaveProperty('data');
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0].extensions).toEqual({ code });
  if (message) expect(body.errors![0].message).toBe(message);
}

describe('by hash over HTTP', () => {
  it('answers a POST by hash with no query text, ignoring extra extensions such as clientLibrary', async () => {
    const { response, body } = await post(byHash(CATALOG, { first: 2 }));
    expect(response.status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.products.edges).toHaveLength(2);
    expect(body.data.products.__typename).toBe('ProductConnection');
  });

  it('answers a GET by hash sent as Apollo Kotlin does, with an ETag and public caching for catalogue data', async () => {
    const response = await fetch(getUrl(CATALOG, { first: 2 }), { headers: { 'apollo-require-preflight': 'true', accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^W\/".+"$/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=60');
    expect(((await response.json()) as any).data.products.edges).toHaveLength(2);
  });

  it('answers a repeated GET with a matching If-None-Match with 304 and no body', async () => {
    const first = await fetch(getUrl(CATALOG, { first: 3 }), { headers: { 'apollo-require-preflight': 'true' } });
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    const again = await fetch(getUrl(CATALOG, { first: 3 }), { headers: { 'apollo-require-preflight': 'true', 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    const changed = await fetch(getUrl(CATALOG, { first: 4 }), { headers: { 'apollo-require-preflight': 'true', 'if-none-match': etag } });
    expect(changed.status).toBe(200);
  });

  it("marks a GET of the viewer's data private, never public", async () => {
    const response = await fetch(getUrl(VIEWER), { headers: { 'apollo-require-preflight': 'true', authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('private, max-age=30');
    expect(((await response.json()) as any).data.viewer.name).toBe('Demo User');
  });

  it('accepts a top-level documentId, with or without the sha256: prefix, by POST and by GET', async () => {
    for (const documentId of [`sha256:${CATALOG.id}`, CATALOG.id]) {
      const { response, body } = await post({ documentId, variables: { first: 1 } });
      expect(response.status).toBe(200);
      expect(body.data.products.edges).toHaveLength(1);
    }
    const url = new URL(system.url);
    url.searchParams.set('documentId', `sha256:${CATALOG.id}`);
    url.searchParams.set('variables', '{"first":1}');
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(((await response.json()) as any).data.products.edges).toHaveLength(1);
  });

  it('runs a persisted mutation by POST', async () => {
    const { body } = await post(byHash(RENAME, { input: { expectedVersion: 1, name: 'Renamed' } }), { authorization: `Bearer ${await signDevToken({ sub: `pq-${Date.now()}` })}` });
    expect(body.errors).toBeUndefined();
    expect(body.data.updateProfile).toEqual({ __typename: 'UpdateProfilePayload', user: { __typename: 'User', name: 'Renamed' }, userErrors: [] });
  });

  it('does not parse or validate anything for requests by hash', async () => {
    await post(byHash(CATALOG, { first: 1 }));
    const before = { ...counts };
    for (let i = 0; i < 5; i++) await post(byHash(CATALOG, { first: i }));
    await fetch(getUrl(VIEWER), { headers: { 'apollo-require-preflight': 'true' } });
    expect(counts).toEqual(before);
  });

  it('counts operations by name and client on /metrics', async () => {
    await post(byHash(BIG));
    const metrics = await (await fetch(system.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/^bff_operations_total\{operation="BigCatalog",client_name="shop-android",client_version="4.2.0"\} [1-9]\d*$/m);
  });
});

describe('rejections', () => {
  it('refuses an id that is not in any manifest with PERSISTED_QUERY_NOT_IN_LIST and the message Apollo clients expect', async () => {
    const { response, body } = await post(byHash({ id: NOT_LISTED, name: 'Gone' }));
    expectRejection(response, body, 'PERSISTED_QUERY_NOT_IN_LIST', `Persisted query '${NOT_LISTED}' not found in the persisted query list`);
    expect(JSON.stringify(body)).not.toMatch(/PersistedQueryNotFound|PERSISTED_QUERY_NOT_FOUND|PersistedQueryNotSupported/);
  });

  it('refuses an unknown id by GET the same way', async () => {
    const response = await fetch(getUrl({ id: NOT_LISTED, name: 'Gone' }), { headers: { 'apollo-require-preflight': 'true' } });
    expectRejection(response, (await response.json()) as any, 'PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('refuses an unknown documentId', async () => {
    const { response, body } = await post({ documentId: `sha256:${NOT_LISTED}` });
    expectRejection(response, body, 'PERSISTED_QUERY_NOT_IN_LIST', `Persisted query '${NOT_LISTED}' not found in the persisted query list`);
  });

  it('refuses query text in require mode with PERSISTED_QUERY_ID_REQUIRED', async () => {
    const { response, body } = await post({ query: '{ products(first: 1) { edges { node { name } } } }' });
    expectRejection(response, body, 'PERSISTED_QUERY_ID_REQUIRED');
  });

  it('refuses introspection text in require mode', async () => {
    const { response, body } = await post({ query: '{ __schema { types { name } } }' });
    expectRejection(response, body, 'PERSISTED_QUERY_ID_REQUIRED');
  });

  it('refuses even the exact text of a manifest body in require mode', async () => {
    const { response, body } = await post({ query: CATALOG.body, variables: { first: 1 } });
    expectRejection(response, body, 'PERSISTED_QUERY_ID_REQUIRED');
  });

  it('answers a persisted mutation over GET with 405 and Allow: POST', async () => {
    const response = await fetch(getUrl(RENAME, { input: { expectedVersion: 1, name: 'x' } }), { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a GET without a preflight header (CSRF), with BAD_USER_INPUT', async () => {
    const response = await fetch(getUrl(CATALOG, { first: 1 }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a GET whose only protection would be a content type a browser sends cross-site without a preflight', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const response = await fetch(getUrl(CATALOG, { first: 1 }), { headers: { 'content-type': type } });
      expect(response.status).toBe(400);
    }
  });

  it('accepts a GET with a content type that needs a preflight, as web Apollo Client sends it (application/json, no preflight header)', async () => {
    const response = await fetch(getUrl(CATALOG, { first: 1 }), { headers: { accept: '*/*', 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as any).data.products.edges).toHaveLength(1);
  });
});

describe('compression', () => {
  it('compresses a large response with brotli when the client accepts it, and leaves small ones alone', async () => {
    const big = await fetch(system.url, { method: 'POST', headers: { ...APOLLO_HEADERS, 'accept-encoding': 'gzip;q=0.5, br' }, body: JSON.stringify(byHash(BIG)) });
    expect(big.headers.get('content-encoding')).toBe('br');
    const payload = (await big.json()) as any;
    expect(payload.data.products.edges).toHaveLength(100);
    expect(Number(big.headers.get('content-length'))).toBeLessThan(JSON.stringify(payload).length / 3);
    const small = await fetch(system.url, { method: 'POST', headers: { ...APOLLO_HEADERS, 'accept-encoding': 'br, gzip' }, body: JSON.stringify(byHash(CATALOG, { first: 1 })) });
    expect(small.headers.get('content-encoding')).toBeNull();
    const gzip = await fetch(system.url, { method: 'POST', headers: { ...APOLLO_HEADERS, 'accept-encoding': 'gzip' }, body: JSON.stringify(byHash(BIG)) });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
  });
});

describe('allowlist mode', () => {
  let allowlist: TestSystem;
  beforeAll(async () => {
    allowlist = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'allowlist' });
  });
  afterAll(() => allowlist?.stop());

  it('accepts text whose normalized form is a manifest body, however it is spaced', async () => {
    const spaced = CATALOG.body.replace(/\n\s*/g, ' ');
    const { body, status } = await allowlist.gql(spaced, { first: 1 });
    expect(status).toBe(200);
    expect(body.data.products.edges).toHaveLength(1);
  });

  it('refuses other text with PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const { body, status } = await allowlist.gql('{ products(first: 1) { edges { node { name } } } }');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions!.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });
});

describe('manifests checked against the schema at start', () => {
  const schema = createSchema();

  it('refuses an operation that no longer validates, naming the file, the operation, its id and the error', () => {
    const broken = operation('OldScreen', 'query', 'query OldScreen { products(first: 1) { edges { node { legacyRating } } } }');
    const badDir = writeManifests({ 'shop-android-3.0.0.json': [CATALOG, broken] });
    try {
      expect(() => loadPersistedOperations(schema, badDir)).toThrow(ManifestError);
      expect(() => loadPersistedOperations(schema, badDir)).toThrow(
        new RegExp(`shop-android-3\\.0\\.0\\.json: operation OldScreen \\(${broken.id}\\) no longer validates against the schema: Cannot query field "legacyRating" on type "Product"`),
      );
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });

  it('refuses one id listed with two different bodies', () => {
    const other = { ...VIEWER, body: VIEWER.body.replace('name', 'name\n    __typename') };
    const badDir = writeManifests({ 'app-1.0.0.json': [VIEWER], 'app-1.1.0.json': [{ ...other, id: VIEWER.id }] });
    try {
      expect(() => loadPersistedOperations(schema, badDir)).toThrow(/the id is not the sha256 of the body|listed with another body/);
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });

  it('loads the union of all manifests, an operation shared by two app versions once', () => {
    const loaded = loadPersistedOperations(schema, dir);
    expect(loaded.files).toEqual(['shop-android-4.2.0.json', 'shop-ios-7.1.0.json']);
    expect(loaded.byId.size).toBe(4);
    expect(loaded.byId.get(CATALOG.id)!.files).toEqual(['shop-android-4.2.0.json', 'shop-ios-7.1.0.json']);
  });

  it('checks that every id is the sha256 of its body', () => {
    expect(CATALOG.id).toBe(createHash('sha256').update(CATALOG.body).digest('hex'));
    const badDir = writeManifests({ 'app-1.0.0.json': [{ ...CATALOG, id: NOT_LISTED }] });
    try {
      expect(() => loadPersistedOperations(schema, badDir)).toThrow(/the id is not the sha256 of the body/);
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });
});
