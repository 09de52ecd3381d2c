import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Production switches, in process so that the embedded pass checks them too; the separate-process
// topology with a real identity provider is in test/e2e/processes.test.ts.
let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({}, { nodeEnv: 'production' });
});
afterAll(() => system?.stop());

describe('NODE_ENV=production', () => {
  it('refuses introspection with BAD_USER_INPUT and no data', async () => {
    const { status, body } = await system.gql('{ __schema { types { name } } }');
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors!.length).toBeGreaterThan(0);
    for (const error of body.errors!) {
      expect(error).toEqual(expect.objectContaining({ message: expect.stringMatching(/introspection has been disabled/), extensions: { code: 'BAD_USER_INPUT' } }));
    }
    const typeQuery = await system.gql('{ __type(name: "Product") { name } }');
    expect(typeQuery.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
  });

  it('still answers __typename, which Apollo clients add to every selection', async () => {
    const { body } = await system.gql('{ __typename products(first: 1) { __typename edges { node { __typename name } } } }');
    expect(body.errors).toBeUndefined();
    expect(body.data.products.edges[0].node.__typename).toBe('Product');
  });

  it('serves no GraphiQL page', async () => {
    const page = await fetch(system.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });
});

describe('development mode', () => {
  let dev: TestSystem;
  beforeAll(async () => {
    dev = await startTestSystem({ NODE_ENV: 'development' });
  });
  afterAll(() => dev?.stop());

  it('serves GraphiQL with the sample query and a demo token filled in', async () => {
    const page = await fetch(dev.url, { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toMatch(/graphiql/i);
    expect(html).toMatch(/Bearer ey/);
  });

  it('answers introspection', async () => {
    const { body } = await dev.gql('{ __type(name: "Product") { fields { name } } }');
    expect(body.data.__type.fields.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['id', 'sku', 'price']));
  });
});
