import { startCacheSystem, type CacheSystem } from './cacheSystem.js';

// design.md §13: a shared result is cached once for everyone and kept exact by the change notices.
describe('response cache: shared results', () => {
  let system: CacheSystem;
  // Feed checks far apart: every catalog call these tests count is one a request caused.
  beforeAll(async () => void (system = await startCacheSystem({ env: { RESPONSE_CACHE_FEED_CHECK: '1h' } })), 120_000);
  afterAll(() => system?.stop());

  const productNames = (answer: Awaited<ReturnType<CacheSystem['request']>>) => answer.body!.data.products.edges.map((e: { node: { name: string } }) => e.node.name);

  it('answers a second identical catalogue request without calling the catalog, for anyone', async () => {
    const first = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }));
    expect(first.result.status).toBe(200);
    expect(first.calls.length).toBeGreaterThan(0);
    const hitsBefore = await system.metric('bff_response_cache_lookups_total', { result: 'hit' });
    // The same screen, another user and an anonymous one: a shared result, no catalog call.
    for (const as of [undefined, 'someone-else']) {
      const again = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }, as ? { as } : {}));
      expect(again.calls).toEqual([]);
      expect(again.result.body).toEqual(first.result.body);
    }
    expect(await system.metric('bff_response_cache_lookups_total', { result: 'hit' })).toBe(hitsBefore + 2);
    // Other variables are another entry.
    const other = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 6 }));
    expect(other.calls.length).toBeGreaterThan(0);
  });

  it('answers a hit as the stored bytes, without parsing them (POST and GET)', async () => {
    for (const method of ['POST', 'GET'] as const) {
      const stored = await system.request('CatalogPage', { first: 4 }, { method });
      expect(stored.status).toBe(200);
      const body = JSON.stringify(stored.body);
      // Every JSON.parse of this process while the hit is answered: the test's own parse of the answer is the only one of those bytes.
      const parse = JSON.parse;
      const parsed: string[] = [];
      JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
        parsed.push(String(text));
        return parse(text, reviver);
      }) as typeof JSON.parse;
      let hit: Awaited<ReturnType<CacheSystem['request']>>;
      try {
        hit = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 4 }, { method })).then(({ result, calls }) => {
          expect(calls).toEqual([]);
          return result;
        });
      } finally {
        JSON.parse = parse;
      }
      expect(hit.status).toBe(200);
      expect(JSON.stringify(hit.body)).toBe(body);
      expect(parsed.filter((text) => text === body)).toHaveLength(1);
    }
  });

  it('shows a product renamed through the catalog on the very next request (the notice evicts)', async () => {
    const before = await system.request('CatalogPage', { first: 5 });
    const sku = before.body!.data.products.edges[0].node.sku as string;
    const invalidations = await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' });
    await system.renameProduct(sku, '  AAA renamed lamp');
    // The notice is delivered asynchronously: once it has been handled, the next request is fresh.
    const { waitUntil } = await import('../support/waitUntil.js');
    await waitUntil(async () => (await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' })) > invalidations, { what: 'the notice to evict' });
    const after = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }));
    expect(after.calls.length).toBeGreaterThan(0);
    expect(productNames(after.result)).toContain('AAA renamed lamp');
    // And cached again.
    const again = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }));
    expect(again.calls).toEqual([]);
    expect(productNames(again.result)).toContain('AAA renamed lamp');
  });

  it('answers If-None-Match from the cache: 304, no catalog call', async () => {
    const first = await system.request('CatalogPage', { first: 3 }, { method: 'GET' });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    expect(first.headers.get('cache-control')).toBe('public, max-age=60');
    const revalidated = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 3 }, { method: 'GET', headers: { 'if-none-match': etag } }));
    expect(revalidated.result.status).toBe(304);
    expect(revalidated.calls).toEqual([]);
  });

  it('never caches a text query in development, nor a mutation', async () => {
    const text = async () => {
      const response = await fetch(system.bffs[0]!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ products(first: 2) { edges { node { name } } } }' }) });
      return response.json();
    };
    await text();
    const again = await system.callsTo('catalog', text);
    expect(again.calls.length).toBeGreaterThan(0);
  });
});

describe('response cache: RESPONSE_CACHE=off', () => {
  let system: CacheSystem;
  beforeAll(async () => void (system = await startCacheSystem({ env: { RESPONSE_CACHE: 'off' } })), 120_000);
  afterAll(() => system?.stop());

  it('calls the catalog for every request', async () => {
    await system.request('CatalogPage', { first: 5 });
    const again = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }));
    expect(again.calls.length).toBeGreaterThan(0);
    expect(await system.metric('bff_response_cache_lookups_total')).toBe(0);
  });
});
