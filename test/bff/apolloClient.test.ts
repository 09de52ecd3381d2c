import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { signDevToken } from '../../src/auth/index.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Apollo's packages are CommonJS; jest's ESM loader cannot see their named exports, require can.
const require = createRequire(import.meta.url);
const { ApolloClient, HttpLink, InMemoryCache, gql } = require('@apollo/client/core') as typeof import('@apollo/client/core');
const { createPersistedQueryLink } = require('@apollo/client/link/persisted-queries') as typeof import('@apollo/client/link/persisted-queries');
const { generatePersistedQueryManifest } = require('@apollo/generate-persisted-query-manifest') as typeof import('@apollo/generate-persisted-query-manifest');
const { createPersistedQueryManifestVerificationLink, generatePersistedQueryIdsFromManifest } = require('@apollo/persisted-query-lists') as typeof import('@apollo/persisted-query-lists');

// A real client no one here wrote: Apollo Client with its persisted-query link and Apollo's
// manifest verification link, pointed at the committed first-party manifest
// (persisted-queries/first-party.json, as `npm run codegen` writes it), against a server in
// `require` mode that loads that manifest and nothing else.
const documents = join(projectRoot(), 'persisted-queries/first-party');
const text = (file: string) => readFileSync(join(documents, file), 'utf8');
type Manifest = Awaited<ReturnType<typeof import('@apollo/generate-persisted-query-manifest').generatePersistedQueryManifest>>;
const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as Manifest;

let dir: string;
let system: TestSystem;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mobile-bff-apollo-'));
  writeFileSync(join(dir, 'first-party.json'), JSON.stringify(manifest));
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function apolloClient(sub: string, { useGETForHashedQueries = false } = {}) {
  const sent: string[] = [];
  const accepts: string[] = [];
  const mismatches: string[] = [];
  const token = await signDevToken({ sub });
  const verify = createPersistedQueryManifestVerificationLink({
    loadManifest: () => manifest,
    onVerificationFailed: ({ reason, operation }) => mismatches.push(`${reason}: ${operation.operationName}`),
  });
  const link = verify.concat(createPersistedQueryLink({ ...generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest }), useGETForHashedQueries })).concat(
    new HttpLink({
      uri: system.url,
      headers: { authorization: `Bearer ${token}` },
      fetch: (input, init) => {
        sent.push(init?.method === 'GET' ? `GET ${String(input)}` : String(init?.body ?? ''));
        accepts.push(new Headers(init?.headers).get('accept') ?? '');
        return fetch(input, init);
      },
    }),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), sent, accepts, mismatches };
}

describe('Apollo Client with the persisted-query link', () => {
  it('is pointed at a first-party manifest that is exactly what Apollo’s generator writes from the same documents', async () => {
    const generated = await generatePersistedQueryManifest({ documents: [join(documents, '*.graphql')] }, undefined);
    const byName = (m: Manifest) => Object.fromEntries(m.operations.map((o) => [o.name, o]));
    expect(byName(manifest)).toEqual(byName(generated));
    for (const op of manifest.operations) expect(op.id).toBe(createHash('sha256').update(op.body).digest('hex'));
  });

  it('has __typename in every selection set of the manifest but the operation’s root', () => {
    const home = manifest.operations.find((o) => o.name === 'Home')!;
    expect(home.body).toMatch(/^query Home\(\$first: Int = 20\) \{\n  viewer \{\n    id\n    name\n    avatarUrl\(size: 96\)\n    __typename\n  \}\n/);
    expect(home.body).toMatch(/\n\nfragment ProductCard on Product \{\n  id\n[^]*  __typename\n\}$/);
    expect(home.body.match(/\{\n/g)!.length - 1).toBe(home.body.match(/__typename/g)!.length);
  });

  it('reports no OperationMismatch for any first-party operation, and loses no fragment data', async () => {
    const { client, mismatches } = await apolloClient('demo');
    const { data, errors } = await client.query({ query: gql(text('Home.graphql')), variables: { first: 2 } });
    expect(errors).toBeUndefined();
    const card = data.products.edges[0].node;
    expect(card).toEqual({ __typename: 'Product', id: expect.any(String), name: expect.any(String), price: { __typename: 'Money', amount: expect.any(Number), currency: expect.any(String) }, imageUrl: expect.any(String) });
    await client.query({ query: gql(text('CatalogPage.graphql')), variables: { first: 1 } });
    await client.query({ query: gql(text('ProductDetail.graphql')), variables: { id: card.id } });
    await client.query({ query: gql(text('OrderList.graphql')), variables: { first: 1 } });
    expect(mismatches).toEqual([]);
  });

  it('runs a query by hash only, and the server answers it', async () => {
    const { client, sent } = await apolloClient('demo');
    const { data, errors } = await client.query({ query: gql(text('Home.graphql')), variables: { first: 3 } });
    expect(errors).toBeUndefined();
    expect(data.viewer.name).toBe('Demo User');
    expect(data.products.edges).toHaveLength(3);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]!)).not.toHaveProperty('query');
    expect(JSON.parse(sent[0]!).extensions.persistedQuery.sha256Hash).toBe(manifest.operations.find((o) => o.name === 'Home')!.id);
  });

  it('runs a query by hash over GET (useGETForHashedQueries), which the CSRF rule lets through for its application/json content type', async () => {
    const { client, sent } = await apolloClient('demo', { useGETForHashedQueries: true });
    const { data, errors } = await client.query({ query: gql(text('CatalogPage.graphql')), variables: { first: 2 } });
    expect(errors).toBeUndefined();
    expect(data.products.edges).toHaveLength(2);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^GET .*extensions=/);
    expect(sent[0]).not.toMatch(/[?&]query=/);
  });

  it('runs a mutation by hash only', async () => {
    const { client, sent } = await apolloClient(`apollo-${Date.now()}`);
    const me = await client.query({ query: gql(text('OrderList.graphql')), variables: { first: 1 } });
    expect(me.data.viewer.orders.edges).toEqual([]);
    const catalog = await client.query({ query: gql(text('CatalogPage.graphql')), variables: { first: 1 } });
    const productId = catalog.data.products.edges[0].node.id;
    const { data, errors } = await client.mutate({
      mutation: gql(text('PlaceOrder.graphql')),
      variables: { input: { idempotencyKey: `apollo-${Date.now()}`, lines: [{ productId, quantity: 2 }] } },
    });
    expect(errors).toBeUndefined();
    expect(data.placeOrder.userErrors).toEqual([]);
    expect(data.placeOrder.order.status).toBe('PENDING');
    expect(sent.every((body) => !('query' in JSON.parse(body)))).toBe(true);
  });
});

describe('Apollo Client with @defer, by hash', () => {
  it('gets the profile first and the deferred orders after, merged into one result', async () => {
    const { client, sent, accepts } = await apolloClient('demo');
    const results: any[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = client.watchQuery({ query: gql(text('Account.graphql')), variables: { first: 2 } }).subscribe({
        next(result) {
          results.push(result);
          if (result.data?.viewer?.orders) {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    expect(accepts[0]).toMatch(/^multipart\/mixed;\s*deferSpec=20220824/);
    expect(JSON.parse(sent[0]!)).not.toHaveProperty('query');
    expect(JSON.parse(sent[0]!).extensions.persistedQuery.sha256Hash).toBe(manifest.operations.find((o) => o.name === 'Account')!.id);
    expect(sent).toHaveLength(1);
    // The profile alone first, then the same result with the orders merged in.
    expect(results[0].data.viewer.name).toBe('Demo User');
    expect(results[0].data.viewer.orders).toBeUndefined();
    const last = results.at(-1);
    expect(last.errors).toBeUndefined();
    expect(last.data.viewer.name).toBe('Demo User');
    expect(last.data.viewer.orders.edges).toHaveLength(2);
    expect(last.data.viewer.orders.edges[0].node.total.currency).toEqual(expect.any(String));
  });
});
