import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/projectRoot.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The version gate and the sunset notice as a real Apollo Client sees them: it names itself with
// `name` / `version` (sent as apollographql-client-name / -version) and sends operations by hash.
const require = createRequire(import.meta.url);
const { ApolloClient, HttpLink, InMemoryCache, gql } = require('@apollo/client/core') as typeof import('@apollo/client/core');
const { createPersistedQueryLink } = require('@apollo/client/link/persisted-queries') as typeof import('@apollo/client/link/persisted-queries');
const { generatePersistedQueryManifest } = require('@apollo/generate-persisted-query-manifest') as typeof import('@apollo/generate-persisted-query-manifest');
const { generatePersistedQueryIdsFromManifest } = require('@apollo/persisted-query-lists') as typeof import('@apollo/persisted-query-lists');

const documents = join(projectRoot(), 'persisted-queries/first-party');
const CATALOG = gql(readFileSync(join(documents, 'CatalogPage.graphql'), 'utf8'));

let dir: string;
let manifest: Awaited<ReturnType<typeof generatePersistedQueryManifest>>;
let system: TestSystem;
beforeAll(async () => {
  manifest = await generatePersistedQueryManifest({ documents: [join(documents, '*.graphql')] }, undefined);
  dir = mkdtempSync(join(tmpdir(), 'mobile-bff-apollo-versions-'));
  for (const version of ['1.0.0', '1.1.0', '2.0.0']) writeFileSync(join(dir, `shop-web-${version}.json`), JSON.stringify(manifest));
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require', MIN_CLIENT_VERSIONS: 'shop-web=1.1.0', SUNSET_CLIENT_VERSIONS: 'shop-web=1.9.9@2099-01-31' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function apolloClient(version: string) {
  const responses: Response[] = [];
  const link = createPersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })).concat(
    new HttpLink({
      uri: system.url,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        responses.push(response.clone());
        return response;
      },
    }),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache(), name: 'shop-web', version }), responses };
}

describe('Apollo Client naming itself (name / version)', () => {
  it('is told UPGRADE_REQUIRED with the lowest version served when too old, and does not resend the query as text', async () => {
    const { client, responses } = apolloClient('1.0.0');
    const error = await client.query({ query: CATALOG, variables: { first: 1 } }).then(
      () => undefined,
      (e: unknown) => e as { networkError?: { statusCode?: number; result?: { errors?: { extensions?: Record<string, unknown> }[] } } },
    );
    expect(error?.networkError?.statusCode).toBe(400);
    expect(error?.networkError?.result?.errors?.[0]?.extensions).toEqual({ code: 'UPGRADE_REQUIRED', minimumVersion: '1.1.0' });
    expect(responses).toHaveLength(1);
    expect(responses[0]!.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  });

  it('is served with Deprecation and Sunset while its version retires', async () => {
    const { client, responses } = apolloClient('1.1.0');
    const { data } = await client.query({ query: CATALOG, variables: { first: 1 } });
    expect(data.products.edges).toHaveLength(1);
    expect(responses[0]!.headers.get('sunset')).toBe('Sat, 31 Jan 2099 00:00:00 GMT');
    expect(responses[0]!.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(((await responses[0]!.json()) as { extensions?: unknown }).extensions).toEqual({ sunset: '2099-01-31' });
  });

  it('is served plainly once up to date', async () => {
    const { client, responses } = apolloClient('2.0.0');
    const { data } = await client.query({ query: CATALOG, variables: { first: 1 } });
    expect(data.products.edges).toHaveLength(1);
    expect(responses[0]!.headers.get('sunset')).toBeNull();
  });
});
