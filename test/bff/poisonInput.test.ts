import { signDevToken } from '../../src/auth/index.js';
import { cursorScope, encodeCursor } from '../../src/bff/connections/connection.js';
import { byHash } from '../support/firstParty.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// design.md §8/§9, issue 13: a value PostgreSQL would refuse (a NUL, a lone surrogate, a date
// that is no date) is the client's input. It is refused by the BFF before any downstream call
// with BAD_USER_INPUT / INVALID_CURSOR, the services answer such a value with 400 (never 500),
// and no circuit breaker counts it: one client's input never takes a service from every user.


let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(system.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] } };
}
const bearer = async (sub: string, claims: { name?: string; email?: string } = {}) => ({ authorization: `Bearer ${await signDevToken({ sub, ...claims })}` });
const codes = (body: { errors?: { extensions?: Record<string, any> }[] }) => body.errors?.map((e) => e.extensions?.code);

/** `n` times the same request, one after the other (the breaker's window counts each). */
async function times<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

describe('strings PostgreSQL would refuse are BAD_USER_INPUT, before any downstream call', () => {
  it('refuses a NUL in a persisted query variable (CatalogPage search) and the catalog breaker stays closed', async () => {
    let answers: Awaited<ReturnType<typeof post>>[] = [];
    const calls = await system.countCalls(async () => {
      answers = await times(12, () => post(byHash('CatalogPage', { search: 'x\u0000' })));
    });
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
      expect(answer.body.errors![0]!.message).toMatch(/variables\.search/);
    }
    expect(calls.catalog).toEqual({});
    expect(system.bff.breakerState('catalog')).toBe('closed');
    const home = await post(byHash('Home'), await bearer('bystander'));
    expect(home.body.errors).toBeUndefined();
    expect(home.body.data.products.edges.length).toBeGreaterThan(0);
  });

  it('refuses a lone surrogate (not valid UTF-16, so not encodable as UTF-8) in a variable', async () => {
    const answer = await post(`{"query":"query($s: String) { products(first: 1, search: $s) { edges { node { name } } } }","variables":{"s":"a\\ud800b"}}`);
    expect(answer.status).toBe(400);
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses a NUL in a string literal of a text document', async () => {
    const answer = await post({ query: '{ products(first: 1, search: "x\\u0000") { edges { node { name } } } }' });
    expect(answer.status).toBe(400);
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses a NUL inside an input object (UpdateProfile name) with BAD_USER_INPUT, not INTERNAL_SERVER_ERROR', async () => {
    const headers = await bearer('nul-profile');
    const answer = await post(byHash('UpdateProfile', { input: { expectedVersion: 1, name: 'Eve\u0000' } }), headers);
    expect(answer.status).toBe(400);
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
    const literal = await post({ query: 'mutation { updateProfile(input: { expectedVersion: 1, name: "Eve\\u0000" }) { user { name } } }' }, headers);
    expect(codes(literal.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses an id argument (ID) with a NUL', async () => {
    const answer = await post({ query: 'query($id: ID!) { product(id: $id) { name } }', variables: { id: 'abc\u0000' } });
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('cursors: every sort value is checked against its ordering', () => {
  it('refuses an orders cursor whose date is not a timestamp with INVALID_CURSOR, and the orders breaker stays closed', async () => {
    const headers = await bearer('demo');
    const after = encodeCursor(cursorScope('orders by createdAt desc, number desc', { user: 'demo' }), ['not-a-timestamp', 'ORD-1']);
    let answers: Awaited<ReturnType<typeof post>>[] = [];
    const calls = await system.countCalls(async () => {
      answers = await times(12, () => post(byHash('OrderList', { after }), headers));
    });
    for (const answer of answers) expect(codes(answer.body)).toEqual(['INVALID_CURSOR']);
    expect(calls.orders).toEqual({});
    expect(system.bff.breakerState('orders')).toBe('closed');
    const list = await post(byHash('OrderList'), headers);
    expect(list.body.errors).toBeUndefined();
  });

  it('refuses a products cursor holding a number where the name goes, or a NUL', async () => {
    const scope = cursorScope('products by name, sku', {});
    for (const values of [[42, 'SKU-0001'], ['a\u0000', 'SKU-0001']]) {
      const answer = await post(byHash('CatalogPage', { after: encodeCursor(scope, values as (string | number)[]) }));
      expect(codes(answer.body)).toEqual(['INVALID_CURSOR']);
    }
  });
});

describe('token claims are sanitised before they reach the users service', () => {
  it('serves a token whose name and email claims hold a NUL, and the users breaker stays closed', async () => {
    const headers = await bearer(`claims-${Date.now()}`, { name: 'Mallory\u0000', email: 'm\u0000@example.com' });
    const answers = await times(12, () => post({ query: '{ viewer { id name } }' }, headers));
    for (const answer of answers) {
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data.viewer.name).toBe('Mallory');
    }
    expect(system.bff.breakerState('users')).toBe('closed');
  });
});

describe('the reference services answer 400 with a code when PostgreSQL refuses a value (SQLSTATE class 22)', () => {
  async function serviceCall(service: 'users' | 'catalog' | 'orders', path: string, init: RequestInit = {}) {
    const response = await fetch(`${system.serviceUrls[service]}${path}`, { ...init, headers: { 'content-type': 'application/json' } });
    return { status: response.status, body: (await response.json()) as { code?: string } };
  }

  it.each([
    ['catalog', `/products?search=${encodeURIComponent('x\u0000')}`, {}],
    ['orders', `/orders?userId=demo&after=${encodeURIComponent(JSON.stringify(['not-a-timestamp', 'x']))}`, {}],
    ['users', '/users/ensure', { method: 'POST', body: JSON.stringify({ id: `svc-${Date.now()}`, name: 'a\u0000' }) }],
  ] as const)('%s %s', async (service, path, init) => {
    const answer = await serviceCall(service, path, init);
    expect(answer.status).toBe(400);
    expect(answer.body.code).toEqual(expect.any(String));
  });
});
