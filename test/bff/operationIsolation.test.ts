import { Writable } from 'node:stream';
import { signDevToken } from '../../src/auth/index.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';
import { byHash, firstPartyId } from '../support/firstParty.js';

// Issue 13: what belongs to one operation stays with it (a JSON batch shares one HTTP request),
// malformed ids are the client's input (400, nothing logged as a failure), a response carrying
// an error is never cached, and the cost limit counts variables' values.
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let system: SystemBehindProxies;
beforeAll(async () => {
  system = await startSystemBehindProxies({ BATCH_LIMIT: '5', DOWNSTREAM_RETRIES: '0' }, {}, { logger: createLogger({ level: 'info' }, sink) });
});
afterAll(() => system?.stop());


async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(system.bff.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) };
}

describe('a batch: each operation keeps its own persisted document and result', () => {
  it('answers [CatalogPage, Home] with the catalogue in the first slot and the viewer only in the second', async () => {
    const authorization = `Bearer ${await signDevToken({ sub: 'demo' })}`;
    const { status, body } = await post([byHash('CatalogPage', { first: 2 }), byHash('Home', { first: 3 })], { authorization });
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    expect(body[0].errors).toBeUndefined();
    expect(Object.keys(body[0].data)).toEqual(['products']);
    expect(body[0].data.products.edges).toHaveLength(2);
    expect(body[0].data.products.edges[0].node.sku).toEqual(expect.any(String));
    expect(body[1].errors).toBeUndefined();
    expect(body[1].data.viewer.name).toBe('Demo User');
    expect(body[1].data.products.edges).toHaveLength(3);
  });

  it('answers [Home, CatalogPage] the same way round', async () => {
    const authorization = `Bearer ${await signDevToken({ sub: 'demo' })}`;
    const { body } = await post([byHash('Home', { first: 1 }), byHash('CatalogPage', { first: 4 })], { authorization });
    expect(body[0].data.viewer.name).toBe('Demo User');
    expect(Object.keys(body[1].data)).toEqual(['products']);
    expect(body[1].data.products.edges).toHaveLength(4);
  });
});

describe('malformed ids and parameters are 400 BAD_USER_INPUT, with nothing logged as a failure', () => {
  const cases: [string, unknown][] = [
    ['a sha256Hash sent as an object with its own toString', { extensions: { persistedQuery: { version: 1, sha256Hash: { toString: 'x', valueOf: 1 } } } }],
    ['a sha256Hash sent as a number', { extensions: { persistedQuery: { version: 1, sha256Hash: 12 } } }],
    ['a persistedQuery that is a string', { extensions: { persistedQuery: 'abc' } }],
    ['a documentId sent as an object', { documentId: { toString: 1 } }],
    ['an operationName sent as an object', { query: '{ __typename }', operationName: { toString: 1 } }],
    ['extensions sent as an array', { query: '{ __typename }', extensions: [1, 2] }],
    ['variables sent as a string', { query: '{ __typename }', variables: 'x' }],
  ];
  it.each(cases)('%s', async (_name, body) => {
    const before = lines.length;
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect(answer.text).not.toMatch(/stack|TypeError|\.ts:\d+/);
    const logged = lines.slice(before).map((l) => JSON.parse(l));
    expect(logged.filter((l) => l.level >= 50 || l.err || /stack/.test(JSON.stringify(l)))).toEqual([]);
  });

  it('over GET too: a sha256Hash object in the extensions query parameter', async () => {
    const url = new URL(system.bff.url);
    url.searchParams.set('extensions', JSON.stringify({ persistedQuery: { version: 1, sha256Hash: { toString: 'x' } } }));
    const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['extensions', '{not json'],
    ['variables', '%ED%A0%80'],
  ])('over GET: %s that are not JSON (%s)', async (name, raw) => {
    const before = lines.length;
    const response = await fetch(`${system.bff.url}?query=%7B__typename%7D&${name}=${raw}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const logged = lines.slice(before).map((l) => JSON.parse(l));
    expect(logged.filter((l) => l.level >= 50 || l.err)).toEqual([]);
  });
});

describe('caching never spreads a failure', () => {
  function getUrl(name: string, variables: Record<string, unknown>) {
    const url = new URL(system.bff.url);
    url.searchParams.set('operationName', name);
    url.searchParams.set('variables', JSON.stringify(variables));
    url.searchParams.set('extensions', JSON.stringify({ persistedQuery: { version: 1, sha256Hash: firstPartyId(name) } }));
    return url;
  }

  it('sends a GET by hash answered with DOWNSTREAM_UNAVAILABLE as private, no-cache, without an ETag', async () => {
    const healthy = await fetch(getUrl('CatalogPage', { first: 2 }), { headers: { 'apollo-require-preflight': 'true' } });
    expect(healthy.headers.get('cache-control')).toBe('public, max-age=60');
    expect(healthy.headers.get('etag')).toBeTruthy();

    system.proxies.catalog.inject({ kind: 'status', status: 503 }, 1);
    // Other variables: the same ones would now be a response-cache hit (no catalog call, test/responseCache/).
    const failed = await fetch(getUrl('CatalogPage', { first: 1 }), { headers: { 'apollo-require-preflight': 'true' } });
    const body = (await failed.json()) as any;
    expect(body.errors[0].extensions.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(failed.headers.get('cache-control')).toBe('private, no-cache');
    expect(failed.headers.get('etag')).toBeNull();
  });

  it('sends a GET refused for its input as private, no-cache', async () => {
    const failed = await fetch(getUrl('CatalogPage', { search: 'x\u0000' }), { headers: { 'apollo-require-preflight': 'true' } });
    expect(failed.status).toBe(400);
    expect(failed.headers.get('cache-control')).toMatch(/^private, no-cache/);
    expect(failed.headers.get('etag')).toBeNull();
  });
});

describe('the cost limit counts variables (development: free-form text runs)', () => {
  const NESTED = 'query($n: Int) { viewer { orders(first: $n) { edges { node { customer { orders(first: $n) { edges { node { number } } } } } } } } }';

  it('refuses nested orders(first: $n) with n = 100 as it refuses the literal', async () => {
    const authorization = `Bearer ${await signDevToken({ sub: 'demo' })}`;
    const literal = await post({ query: NESTED.replace('query($n: Int) ', '').replaceAll('$n', '100') }, { authorization });
    expect(literal.status).toBe(400);
    const calls = await system.bff.countCalls(async () => {
      const variable = await post({ query: NESTED, variables: { n: 100 } }, { authorization });
      expect(variable.status).toBe(400);
      expect(variable.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(variable.body.errors[0].message).toMatch(/^Query Cost limit of 20000 exceeded/);
    });
    for (const service of Object.values(calls)) expect(service).toEqual({});
  });

  it('still runs the same document with a small n', async () => {
    const authorization = `Bearer ${await signDevToken({ sub: 'demo' })}`;
    const small = await post({ query: NESTED, variables: { n: 2 } }, { authorization });
    expect(small.body.errors).toBeUndefined();
    expect(small.body.data.viewer.orders.edges).toHaveLength(2);
  });
});
