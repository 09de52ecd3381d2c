import { waitUntil } from '../support/waitUntil.js';
import { startCacheSystem, type CacheSystem } from './cacheSystem.js';

// design.md §13: the change feeds are the truth. A notice lost on purpose: the entry it should
// have evicted is never served later than RESPONSE_CACHE_FEED_CHECK after the change (README).
const FEED_CHECK_MS = 1000;

describe('response cache: a lost notice', () => {
  let system: CacheSystem;
  beforeAll(async () => void (system = await startCacheSystem({ env: { RESPONSE_CACHE_FEED_CHECK: `${FEED_CHECK_MS}ms` } })), 120_000);
  afterAll(() => system?.stop());

  const names = (answer: Awaited<ReturnType<CacheSystem['request']>>) => answer.body!.data.products.edges.map((e: { node: { name: string } }) => e.node.name) as string[];

  it('is caught by the feed check within the bound', async () => {
    const before = await system.request('CatalogPage', { first: 5 });
    const sku = before.body!.data.products.edges[1].node.sku as string;
    system.dropNotices((message) => message.topic === 'products');
    const feedEvictions = await system.metric('bff_response_cache_invalidations_total', { reason: 'feed' });
    await system.renameProduct(sku, 'AAB quietly renamed');
    const changedAt = Date.now();
    expect(system.published.some((m) => m.topic === 'products' && m.sku === sku)).toBe(true);
    // Not a synchronisation: the bound is a duration, so the test lets it pass.
    await waitUntil(() => Date.now() > changedAt + FEED_CHECK_MS, { what: 'the feed-check interval to pass' });
    const after = await system.request('CatalogPage', { first: 5 });
    expect(names(after)).toContain('AAB quietly renamed');
    expect(await system.metric('bff_response_cache_invalidations_total', { reason: 'feed' })).toBeGreaterThan(feedEvictions);
    system.dropNotices(undefined);
  });
});
