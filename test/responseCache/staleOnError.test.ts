import { waitUntil } from '../support/waitUntil.js';
import { startCacheSystem, type Answer, type CacheSystem } from './cacheSystem.js';

// design.md §13: when a service a cached result depends on is down, its last good result answers,
// marked stale and private, no-cache; once the service is back, fresh data without the marker.
describe('response cache: stale on error', () => {
  let system: CacheSystem;
  beforeAll(async () => {
    system = await startCacheSystem({ env: { RESPONSE_CACHE_FEED_CHECK: '300ms', BREAKER_RESET_MS: '200', DOWNSTREAM_RETRIES: '0' } });
  }, 120_000);
  afterAll(() => system?.stop());

  const isStale = (answer: Answer) => answer.body?.extensions?.stale !== undefined;

  async function expectStale(answer: Answer, good: Answer) {
    expect(answer.status).toBe(200);
    expect(answer.body!.errors).toBeUndefined();
    expect(answer.body!.data).toEqual(good.body!.data);
    expect(answer.body!.extensions!.stale.services).toEqual(['catalog']);
    expect(answer.body!.extensions!.stale.ageSeconds).toEqual(expect.any(Number));
    expect(answer.headers.get('cache-control')).toBe('private, no-cache');
    expect(Number(answer.headers.get('age'))).toBe(answer.body!.extensions!.stale.ageSeconds);
    expect(answer.headers.get('etag')).toBeNull();
  }

  async function expectFreshAfterRevive(variables: Record<string, unknown>) {
    await system.revive('catalog');
    const fresh = await waitUntil(
      async () => {
        const answer = await system.request('CatalogPage', variables, { method: 'GET' });
        return !isStale(answer) && !answer.body!.errors ? answer : undefined;
      },
      { what: 'a fresh answer once the catalog is back' },
    );
    expect(fresh.body!.extensions).toBeUndefined();
    expect(fresh.headers.get('cache-control')).toBe('public, max-age=60');
  }

  it('answers the last good catalogue with the stale marker while the catalog is stopped', async () => {
    const good = await system.request('CatalogPage', { first: 4 }, { method: 'GET' });
    expect(good.body!.errors).toBeUndefined();
    await system.kill('catalog');
    // Until the next feed check the entry is fresh; from it on (the catalog cannot be read) it is the last good answer.
    const stale = await waitUntil(async () => {
      const answer = await system.request('CatalogPage', { first: 4 }, { method: 'GET' });
      return isStale(answer) ? answer : undefined;
    }, { what: 'a stale answer' });
    await expectStale(stale, good);
    await expectFreshAfterRevive({ first: 4 });
  });

  it('answers it instead of nulls when the entry was evicted and executing fails', async () => {
    const good = await system.request('CatalogPage', { first: 7 }, { method: 'GET' });
    expect(good.body!.errors).toBeUndefined();
    await system.kill('catalog');
    const staleBefore = await system.metric('bff_response_cache_stale_answers_total');
    const notices = await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' });
    await system.notify({ topic: 'products', sku: good.body!.data.products.edges[0].node.sku });
    await waitUntil(async () => (await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' })) > notices, { what: 'the eviction' });
    const answer = await system.request('CatalogPage', { first: 7 }, { method: 'GET' });
    await expectStale(answer, good);
    expect(await system.metric('bff_response_cache_stale_answers_total')).toBeGreaterThan(staleBefore);
    // With no last good result there is nothing to answer but the error.
    const unknown = await system.request('CatalogPage', { first: 9 }, { method: 'GET' });
    expect(unknown.body!.errors?.[0]?.extensions?.code).toBe('DOWNSTREAM_UNAVAILABLE');
    expect(isStale(unknown)).toBe(false);
    await expectFreshAfterRevive({ first: 7 });
  });
});
