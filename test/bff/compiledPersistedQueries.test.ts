import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signDevToken } from '../../src/auth/index.js';
import { createSchema } from '../../src/bff/createSchema.js';
import { compilePersistedQueries, loadPersistedOperations } from '../../src/bff/persisted/index.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// Persisted queries are compiled at start (graphql-jit): a request by hash must answer exactly
// what graphql-js answers for the same text, data and errors alike, including partial results.
const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; body: string; name: string }[] };
const operation = (name: string) => manifest.operations.find((o) => o.name === name)!;

let system: SystemBehindProxies;
let authorization: string;
beforeAll(async () => {
  system = await startSystemBehindProxies({ BREAKER_MIN_REQUESTS: '100000' });
  authorization = `Bearer ${await signDevToken({ sub: 'demo' })}`;
});
afterAll(() => system?.stop());

async function post(body: Record<string, unknown>) {
  const response = await fetch(system.bff.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}

const byHash = (name: string, variables: Record<string, unknown>) => post({ operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: operation(name).id } } });
const asText = (name: string, variables: Record<string, unknown>) => post({ query: operation(name).body, operationName: name, variables });

describe('a persisted query run compiled', () => {
  it('is every query of the manifests: none is left to run uncompiled', () => {
    const schema = createSchema();
    const operations = loadPersistedOperations(schema, join(projectRoot(), 'persisted-queries'));
    const queries = [...operations.byId.values()].filter((o) => o.type === 'query').map((o) => o.id);
    expect(queries.length).toBeGreaterThan(0);
    expect([...compilePersistedQueries(schema, operations).keys()].sort()).toEqual(queries.sort());
  });

  it.each([
    ['OrderList', { first: 20 }],
    ['Home', {}],
    ['CatalogPage', { first: 5, search: 'lamp' }],
  ])('answers %s by hash exactly as graphql-js answers its text', async (name, variables) => {
    const [compiled, interpreted] = await Promise.all([byHash(name, variables), asText(name, variables)]);
    expect(compiled.status).toBe(200);
    expect(compiled.body.errors).toBeUndefined();
    expect(compiled.body).toEqual(interpreted.body);
  });

  it('refuses a variable of the wrong type as graphql-js does, with BAD_USER_INPUT and no data', async () => {
    const [compiled, interpreted] = await Promise.all([byHash('OrderList', { first: 'many' }), asText('OrderList', { first: 'many' })]);
    expect(compiled.body.data).toBeUndefined();
    expect(compiled.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(compiled.status).toBe(interpreted.status);
  });

  describe('with the catalog service down', () => {
    beforeAll(() => system.kill('catalog'));
    afterAll(() => system.revive('catalog'));

    it('nulls every line’s product with DOWNSTREAM_UNAVAILABLE at its path, as graphql-js does', async () => {
      const [compiled, interpreted] = await Promise.all([byHash('OrderList', { first: 3 }), asText('OrderList', { first: 3 })]);
      expect(compiled.status).toBe(200);
      expect(compiled.body.data.viewer.orders.edges).toHaveLength(3);
      expect(compiled.body.errors!.length).toBeGreaterThan(0);
      for (const error of compiled.body.errors!) {
        expect(error.extensions).toMatchObject({ code: 'DOWNSTREAM_UNAVAILABLE', service: 'catalog' });
        expect(error.path).toEqual(['viewer', 'orders', 'edges', expect.any(Number), 'node', 'lines', expect.any(Number), 'product']);
      }
      expect(compiled.body.data).toEqual(interpreted.body.data);
      const withoutLocations = (errors: any[]) => errors.map(({ locations: _locations, ...rest }) => rest);
      expect(withoutLocations(compiled.body.errors!)).toEqual(withoutLocations(interpreted.body.errors!));
    });
  });
});
