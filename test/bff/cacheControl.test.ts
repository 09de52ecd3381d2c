import { rmSync } from 'node:fs';
import { signDevToken } from '../../src/auth/index.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// design.md §11: Apollo Kotlin's normalized cache expires entries from the response's
// Cache-Control, and Apollo iOS sends hashed queries by POST: every 200 of a persisted operation
// carries one, from the schema's @cacheControl hints.
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name } } } }');
const PROFILE = operation('Profile', 'query', 'query Profile { viewer { id name } }');
const HOME = operation('Home', 'query', 'query Home { viewer { id name } products(first: 2) { edges { node { id name } } } }');
const ORDERS = operation('Orders', 'query', 'query Orders { viewer { id orders(first: 2) { edges { node { id status } } } } }');
const RENAME = operation('Rename', 'mutation', 'mutation Rename($input: UpdateProfileInput!) { updateProfile(input: $input) { user { name } userErrors { code } } }');

let dir: string;
let system: TestSystem;
let demo: string;

beforeAll(async () => {
  dir = writeManifests({ 'shop-ios-7.1.0.json': [CATALOG, PROFILE, HOME, ORDERS, RENAME] });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' });
  demo = `Bearer ${await signDevToken({ sub: 'demo' })}`;
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const extensions = (op: { id: string }) => ({ persistedQuery: { version: 1, sha256Hash: op.id } });

/** As Apollo iOS sends a hashed query: POST, no `query`. */
async function post(op: { id: string; name: string }, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  const response = await fetch(system.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify({ operationName: op.name, variables, extensions: extensions(op) }),
  });
  return { response, body: (await response.json()) as { data?: any; errors?: any[] } };
}

/** As Apollo Kotlin sends it with `httpMethodForHashedQueries = Get`. */
async function get(op: { id: string; name: string }, headers: Record<string, string> = {}) {
  const url = new URL(system.url);
  url.searchParams.set('operationName', op.name);
  url.searchParams.set('extensions', JSON.stringify(extensions(op)));
  const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true', ...headers } });
  return { response, body: (await response.json()) as { data?: any; errors?: any[] } };
}

describe('Cache-Control on every 200 of a persisted query', () => {
  it('marks shared data public with its max age, on POST as on GET', async () => {
    const posted = await post(CATALOG, { first: 2 });
    expect(posted.response.status).toBe(200);
    expect(posted.response.headers.get('cache-control')).toBe('public, max-age=60');
    const got = await get(CATALOG);
    expect(got.response.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it("marks the viewer's data that has a max age private with that max age, on POST and GET", async () => {
    const posted = await post(PROFILE, {}, { authorization: demo });
    expect(posted.body.data.viewer.name).toBe('Demo User');
    expect(posted.response.headers.get('cache-control')).toBe('private, max-age=30');
    const got = await get(PROFILE, { authorization: demo });
    expect(got.response.headers.get('cache-control')).toBe('private, max-age=30');
  });

  it('takes the smallest max age, and private as soon as one field is the viewer’s', async () => {
    const { response, body } = await post(HOME, {}, { authorization: demo });
    expect(body.errors).toBeUndefined();
    expect(response.headers.get('cache-control')).toBe('private, max-age=30');
  });

  it('marks data without a max age (the viewer’s orders) private, no-cache', async () => {
    const { response, body } = await post(ORDERS, {}, { authorization: demo });
    expect(body.errors).toBeUndefined();
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
  });

  it('marks a response with errors private, no-cache, whatever the policy', async () => {
    const { response, body } = await post(HOME);
    expect(response.status).toBe(200);
    expect(body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.data.products.edges).toHaveLength(2);
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    const got = await get(HOME);
    expect(got.response.headers.get('cache-control')).toBe('private, no-cache');
  });

  it('marks a mutation’s answer private, no-cache', async () => {
    const { response, body } = await post(RENAME, { input: { expectedVersion: 1, name: 'Renamed' } }, { authorization: `Bearer ${await signDevToken({ sub: `cc-${Date.now()}` })}` });
    expect(body.errors).toBeUndefined();
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
  });
});
