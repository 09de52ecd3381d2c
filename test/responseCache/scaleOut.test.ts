import { startPrivateRedis } from '../support/privateRedis.js';
import { waitUntil } from '../support/waitUntil.js';
import { startCacheSystem, type Answer, type CacheSystem } from './cacheSystem.js';

// design.md §13 with REDIS_URL: two BFF instances share the cache in Redis, and a notice evicts on
// both. The Redis is the test's own (redis-server on a free port), so this runs in both modes.
describe('response cache: two instances sharing Redis', () => {
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let system: CacheSystem;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    system = await startCacheSystem({ instances: 2, redisUrl: redis.url, env: { RESPONSE_CACHE_FEED_CHECK: '1h' } });
  }, 180_000);
  afterAll(async () => {
    await system?.stop();
    await redis?.stop();
  });

  const names = (answer: Answer) => answer.body!.data.products.edges.map((e: { node: { name: string } }) => e.node.name) as string[];

  it('answers from one instance what the other cached, and a rename on the next request of either', async () => {
    const first = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }, { instance: 0 }));
    expect(first.calls.length).toBeGreaterThan(0);
    const other = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }, { instance: 1 }));
    expect(other.calls).toEqual([]);
    expect(other.result.body).toEqual(first.result.body);

    const sku = first.result.body!.data.products.edges[2].node.sku as string;
    const notices = await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' }, 1);
    await system.renameProduct(sku, 'AAC renamed across instances');
    // Each instance hears the notice through Redis; the first to handle it evicts the shared entry.
    await waitUntil(async () => (await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' }, 0)) + (await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' }, 1)) > notices, { what: 'the notice to evict' });
    const after = await system.request('CatalogPage', { first: 5 }, { instance: 1 });
    expect(names(after)).toContain('AAC renamed across instances');
    const fromOther = await system.callsTo('catalog', () => system.request('CatalogPage', { first: 5 }, { instance: 0 }));
    expect(fromOther.calls).toEqual([]);
    expect(names(fromOther.result)).toContain('AAC renamed across instances');
  });

  it('keeps personal results per user across instances', async () => {
    const numbers = { alice: await system.placeOrder('alice'), bob: await system.placeOrder('bob') };
    for (const user of ['alice', 'bob'] as const) {
      await system.request('OrderList', {}, { as: user, instance: 0 });
      await waitUntil(async () => (await system.callsTo('orders', () => system.request('OrderList', {}, { as: user, instance: 0 }))).calls.length === 0, { what: `${user}'s screen cached` });
    }
    for (const user of ['alice', 'bob'] as const) {
      const answer = await system.callsTo('orders', () => system.request('OrderList', {}, { as: user, instance: 1 }));
      expect(answer.calls).toEqual([]);
      expect(answer.result.body!.data.viewer.orders.edges.map((e: { node: { number: string } }) => e.node.number)).toEqual([numbers[user]]);
    }
  });
});
