import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { signDevToken } from '../../src/auth/index.js';
import { createSchema } from '../../src/bff/createSchema.js';
import { loadPersistedOperations, ManifestError } from '../../src/bff/persisted/index.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { boundaryOf, iosV1Parts, iosV2Parts, kotlinParts, partsAsTheyArrive } from '../support/apolloMultipart.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// design.md §11, issue 14: @defer on persisted queries, by hash, in the multipart format both Apollo
// Kotlin and Apollo iOS parse. The first-party Account screen defers the viewer's orders (another
// service) behind the profile; the manifest is the one a mobile build ships (bodies with __typename).
const ACCOUNT = operation('Account', 'query', readFileSync(join(projectRoot(), 'persisted-queries/first-party/Account.graphql'), 'utf8'));

/** What Apollo Kotlin 4/5 (DefaultHttpRequestComposer) and Apollo iOS 1.x/2.x (RequestChainNetworkTransport, JSONRequest) send with every query. */
const KOTLIN_ACCEPT = 'multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json';
const IOS_ACCEPT = 'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json';
const CONTENT_TYPE = 'multipart/mixed;boundary="graphql";deferSpec=20220824';
/** The whole body: an opening CRLF and delimiter, parts of one header each, each followed at once by the delimiter, then the close. */
const WIRE = /^\r\n--graphql(\r\nContent-Type: application\/json\r\n\r\n\{[^\r\n]*\}\r\n--graphql)+--$/;

let dir: string;
let system: SystemBehindProxies;
let demo: string;

beforeAll(async () => {
  dir = writeManifests({ 'shop-android-5.0.0.json': [ACCOUNT] });
  system = await startSystemBehindProxies({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require', REQUEST_BUDGET_MS: '1500', BREAKER_MIN_REQUESTS: '100000' }, { nodeEnv: 'production' });
  demo = `Bearer ${await signDevToken({ sub: 'demo' })}`;
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => system.proxies.orders.heal());

const byHash = { operationName: 'Account', variables: { first: 3 }, extensions: { persistedQuery: { version: 1, sha256Hash: ACCOUNT.id } } };

function post(accept: string) {
  return fetch(system.bff.url, { method: 'POST', headers: { 'content-type': 'application/json', accept, authorization: demo }, body: JSON.stringify(byHash) });
}

function get(accept: string) {
  const url = new URL(system.bff.url);
  url.searchParams.set('operationName', byHash.operationName);
  url.searchParams.set('variables', JSON.stringify(byHash.variables));
  url.searchParams.set('extensions', JSON.stringify(byHash.extensions));
  return fetch(url, { headers: { accept, authorization: demo, 'apollo-require-preflight': 'true' } });
}

function expectAccountParts(parts: Record<string, any>[]) {
  expect(parts).toHaveLength(2);
  const [first, second] = parts as [any, any];
  expect(Object.keys(first)).toEqual(['data', 'hasNext']);
  expect(first.hasNext).toBe(true);
  expect(Object.keys(first.data.viewer).sort()).toEqual(['__typename', 'avatarUrl', 'email', 'id', 'name']);
  expect(first.data.viewer).toMatchObject({ __typename: 'User', name: 'Demo User' });
  expect(Object.keys(second)).toEqual(['incremental', 'hasNext']);
  expect(second.hasNext).toBe(false);
  expect(second.incremental).toHaveLength(1);
  expect(Object.keys(second.incremental[0])).toEqual(['data', 'path', 'label']);
  expect(second.incremental[0].path).toEqual(['viewer']);
  expect(second.incremental[0].label).toBe('orders');
  expect(second.incremental[0].data.orders.edges).toHaveLength(3);
  expect(second.incremental[0].data.orders.edges[0].node).toMatchObject({ __typename: 'Order', number: expect.any(String), total: { __typename: 'Money' } });
}

describe('@defer by hash, as Apollo Kotlin and Apollo iOS read it', () => {
  it('answers a POST by hash in parts: the profile first, then the orders, in the exact framing both clients parse', async () => {
    const response = await post(IOS_ACCEPT);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(CONTENT_TYPE);
    expect(response.headers.get('cache-control')).toBe('private, no-cache');
    const body = await response.text();
    expect(body).toMatch(WIRE);
    const boundary = boundaryOf(response.headers.get('content-type')!);
    expectAccountParts(iosV1Parts(body, boundary));
    expectAccountParts(iosV2Parts(body, boundary));
    expectAccountParts(kotlinParts(body, boundary));
  });

  it('answers a GET by hash (Apollo Kotlin with httpMethodForHashedQueries = Get) the same way', async () => {
    const response = await get(KOTLIN_ACCEPT);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(CONTENT_TYPE);
    const body = await response.text();
    expect(body).toMatch(WIRE);
    expectAccountParts(kotlinParts(body, 'graphql'));
  });

  it('sends the profile while the orders service has not answered yet', async () => {
    system.proxies.orders.inject({ kind: 'delay', ms: 20_000 });
    const parts = partsAsTheyArrive(await post(KOTLIN_ACCEPT));
    const first = await parts.next();
    expect(first.value!.part.data.viewer.name).toBe('Demo User');
    // Nothing of the orders has been received when the profile is readable.
    expect(first.value!.receivedSoFar).not.toContain('incremental');
    const second = await parts.next();
    expect(second.value!.part.incremental[0].path).toEqual(['viewer']);
    expect((await parts.next()).done).toBe(true);
  });

  it('ends a deferred part fed by a stalled service within the request budget, with DOWNSTREAM_UNAVAILABLE in that part only', async () => {
    system.proxies.orders.inject({ kind: 'delay', ms: 20_000 });
    const body = await (await post(IOS_ACCEPT)).text();
    expect(body).toMatch(WIRE);
    const [first, second] = iosV2Parts(body, 'graphql') as [any, any];
    expect(first).not.toHaveProperty('errors');
    expect(first.data.viewer.name).toBe('Demo User');
    expect(second.hasNext).toBe(false);
    expect(second.incremental[0].data).toEqual({ __typename: 'User', orders: null });
    expect(second.incremental[0].errors).toEqual([
      expect.objectContaining({ path: ['viewer', 'orders'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'orders' } }),
    ]);
  });

  it('carries a failing service’s DOWNSTREAM_UNAVAILABLE in the deferred part, with nothing of it in the first', async () => {
    system.proxies.orders.inject({ kind: 'status', status: 503 });
    const body = await (await post(KOTLIN_ACCEPT)).text();
    const [first, second] = kotlinParts(body, 'graphql') as [any, any];
    expect(first).toEqual({ data: { viewer: expect.objectContaining({ name: 'Demo User' }) }, hasNext: true });
    expect(second.incremental[0]).toMatchObject({ data: { __typename: 'User', orders: null }, path: ['viewer'], label: 'orders' });
    expect(second.incremental[0].errors[0].extensions.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(JSON.stringify(second)).not.toMatch(/stack|ECONN|127\.0\.0\.1|http/);
  });

  it('answers a client that does not accept multipart with one complete JSON response', async () => {
    const oneShot = [
      await post('application/graphql-response+json, application/json'),
      await get('application/json'),
      // Apollo Kotlin 5 opted into the later incremental format, which this server does not speak.
      await post('multipart/mixed;incrementalSpec=v0.2, application/graphql-response+json, application/json'),
    ];
    for (const response of oneShot) {
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
      const body = (await response.json()) as any;
      expect(body).not.toHaveProperty('hasNext');
      expect(body.errors).toBeUndefined();
      expect(body.data.viewer.name).toBe('Demo User');
      expect(body.data.viewer.orders.edges).toHaveLength(3);
    }
  });
});

describe('manifests that defer, checked at start', () => {
  const schema = createSchema();
  const load = (ops: ReturnType<typeof operation>[]) => {
    const manifests = writeManifests({ 'app-1.0.0.json': ops });
    try {
      return loadPersistedOperations(schema, manifests);
    } finally {
      rmSync(manifests, { recursive: true, force: true });
    }
  };

  it('loads an operation that defers, and keeps a variant without @defer for one-shot clients', () => {
    const loaded = load([ACCOUNT]);
    expect(loaded.byId.get(ACCOUNT.id)!.withoutDefer).toBeDefined();
  });

  it('refuses two @defer with the same label', () => {
    const twice = operation('Twice', 'query', 'query Twice { viewer { id ... @defer(label: "a") { name } ... @defer(label: "a") { email } } }');
    expect(() => load([twice])).toThrow(ManifestError);
    expect(() => load([twice])).toThrow(/Twice.*label/s);
  });

  it('refuses @defer on the root fields of a mutation', () => {
    const mutation = operation('Deferred', 'mutation', 'mutation Deferred { ... @defer { updateProfile(input: { expectedVersion: 1, name: "x" }) { user { name } } } }');
    expect(() => load([mutation])).toThrow(/Deferred.*Defer directive cannot be used on root mutation type/s);
  });
});
