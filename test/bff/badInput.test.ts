import { sql } from 'drizzle-orm';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

/** Traces of server internals that must never reach a client. */
function expectNoInternals(text: string) {
  expect(text).not.toContain('originalError');
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/\bat [^"]*\(?[^"\s]+:\d+:\d+\)?/);
  expect(text).not.toMatch(/\.(ts|js):\d+/);
}

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const healthUrl = () => system.url.replace(/\/graphql$/, '/health');

describe('bad input is the client’s error, with a code and nothing internal', () => {
  it('answers a malformed JSON body with 400 and BAD_USER_INPUT, without originalError or a stack', async () => {
    const response = await fetch(system.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ products { edges' });
    const text = await response.text();
    expect(response.status).toBe(400);
    const body = JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expectNoInternals(text);
  });

  it('answers a text/plain POST with 415 and a JSON body whose error is BAD_USER_INPUT', async () => {
    const response = await fetch(system.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toMatch(/json/);
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses an unknown field with BAD_USER_INPUT and no data', async () => {
    const { body } = await system.gql('{ products(first: 1) { edges { node { colour } } } }');
    expect(body.data).toBeUndefined();
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expectNoInternals(JSON.stringify(body));
  });

  it('refuses a variable of the wrong type with BAD_USER_INPUT', async () => {
    const { body } = await system.gql('query($n: Int) { products(first: $n) { edges { node { sku } } } }', { n: 'ten' });
    expect(body.data).toBeUndefined();
    expect(body.errors?.length).toBeGreaterThan(0);
    expect(body.errors?.every((e) => e.extensions?.code === 'BAD_USER_INPUT')).toBe(true);
    expectNoInternals(JSON.stringify(body));
  });

  it('refuses first and last together on products with BAD_USER_INPUT', async () => {
    const { body } = await system.gql('{ products(first: 2, last: 2) { edges { node { sku } } } }');
    expect(body.data?.products).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors![0]!.path).toEqual(['products']);
  });

  it('refuses a garbage after cursor with INVALID_CURSOR', async () => {
    const { body } = await system.gql('query($after: String) { products(first: 2, after: $after) { edges { node { sku } } } }', { after: 'not-a-cursor!!' });
    expect(body.data?.products).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions?.code).toBe('INVALID_CURSOR');
    expect(body.errors![0]!.path).toEqual(['products']);
  });

  it('refuses a products cursor used on viewer.orders with INVALID_CURSOR', async () => {
    const first = await system.gql('{ products(first: 1) { pageInfo { endCursor } } }');
    const cursor = first.body.data.products.pageInfo.endCursor as string;
    expect(typeof cursor).toBe('string');
    const { body } = await system.gql('query($after: String) { viewer { name orders(first: 2, after: $after) { edges { node { number } } } } }', { after: cursor }, { as: 'demo' });
    expect(body.data?.viewer?.name).toBe('Demo User');
    expect(body.data?.viewer?.orders).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions?.code).toBe('INVALID_CURSOR');
    expect(body.errors![0]!.path).toEqual(['viewer', 'orders']);
  });
});

describe('a failing downstream', () => {
  it('masks a downstream 500 as "Unexpected error." with INTERNAL_SERVER_ERROR and no internals, and keeps serving', async () => {
    const query = '{ products(first: 2) { edges { node { sku name } } } }';
    await system.database.db.execute(sql`ALTER TABLE catalog.products RENAME TO products_gone`);
    try {
      const response = await fetch(system.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      const text = await response.text();
      const body = JSON.parse(text) as { data?: { products: unknown }; errors?: { message: string; path?: unknown[]; extensions?: { code?: string } }[] };
      expect(body.data?.products).toBeNull();
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.message).toBe('Unexpected error.');
      expect(body.errors![0]!.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(body.errors![0]!.path).toEqual(['products']);
      expectNoInternals(text);
      expect(text).not.toMatch(/products_gone|relation|does not exist|select|catalog\.products|answered 500/i);
    } finally {
      await system.database.db.execute(sql`ALTER TABLE catalog.products_gone RENAME TO products`);
    }
    const after = await system.gql(query);
    expect(after.status).toBe(200);
    expect(after.body.errors).toBeUndefined();
    expect(after.body.data.products.edges).toHaveLength(2);
  });

  describe('when the catalog service cannot be reached', () => {
    let partial: TestSystem;
    beforeAll(async () => {
      partial = await startTestSystem({ CATALOG_URL: 'http://127.0.0.1:1' });
    });
    afterAll(() => partial?.stop());

    it('nulls products with DOWNSTREAM_UNAVAILABLE at ["products"] while viewer still resolves', async () => {
      const { status, body } = await partial.gql('{ viewer { name } products(first: 2) { edges { node { sku } } } }', {}, { as: 'demo' });
      expect(status).toBe(200);
      expect(body.data?.viewer).toEqual({ name: 'Demo User' });
      expect(body.data?.products).toBeNull();
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.extensions?.code).toBe('DOWNSTREAM_UNAVAILABLE');
      expect(body.errors![0]!.path).toEqual(['products']);
      expectNoInternals(JSON.stringify(body));
    });
  });
});

describe('after all of that', () => {
  it('still answers GET /health with 200', async () => {
    const response = await fetch(healthUrl());
    expect(response.status).toBe(200);
  });
});
