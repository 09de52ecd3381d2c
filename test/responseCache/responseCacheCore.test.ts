import { createInProcessBus } from '../../src/bus/index.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { createMetrics } from '../../src/bff/metrics/createMetrics.js';
import { createDependencies, createMemoryStore, createResponseCache, type CacheMiss, type CachedResult } from '../../src/bff/responseCache/index.js';

// The core on its own, with the in-process store and bus: what decides sharing and what bounds the store.
describe('response cache core', () => {
  const logger = createLogger({ level: 'silent', format: 'json' });
  const publicPolicy: { maxAge: number; scope: 'PUBLIC' | 'PRIVATE' } = { maxAge: 60, scope: 'PUBLIC' };
  const make = () => {
    const bus = createInProcessBus();
    const cache = createResponseCache({ store: createMemoryStore({ maxEntries: 100, maxBytes: 1 << 20 }), bus, feeds: {}, feedCheckMs: 1000, staleMaxMs: 3_600_000, revalidatedTtlMs: 60_000, metrics: createMetrics({ defaultMetrics: false }), logger });
    return { bus, cache };
  };
  const missOf = async (cache: ReturnType<typeof make>['cache'], viewer: string | null, policy = publicPolicy): Promise<CacheMiss> => {
    const lookup = await cache.lookup({ operationId: 'op', variables: { a: 1 }, viewer, policy });
    if (lookup.kind !== 'miss') throw new Error('expected a miss');
    return lookup.miss;
  };

  it('keeps a result whose execution read the viewer per viewer, even when the operation says PUBLIC', async () => {
    const { cache } = make();
    const deps = createDependencies();
    deps.viewerRead = true;
    deps.entities.add('Product:A');
    await cache.store(await missOf(cache, 'alice'), '{"data":{"x":"alice"}}', deps);
    expect((await cache.lookup({ operationId: 'op', variables: { a: 1 }, viewer: 'alice', policy: publicPolicy })).kind).toBe('hit');
    expect((await cache.lookup({ operationId: 'op', variables: { a: 1 }, viewer: 'bob', policy: publicPolicy })).kind).toBe('miss');
    expect((await cache.lookup({ operationId: 'op', variables: { a: 1 }, viewer: null, policy: publicPolicy })).kind).toBe('miss');
  });

  it('shares a result that read nothing personal, whoever asked first; variables in any key order are one entry', async () => {
    const { cache } = make();
    const deps = createDependencies();
    deps.entities.add('Product:A');
    await cache.store(await missOf(cache, 'alice'), '{"data":{"x":1}}', deps);
    const bob = await cache.lookup({ operationId: 'op', variables: { a: 1 }, viewer: 'bob', policy: publicPolicy });
    expect(bob.kind).toBe('hit');
  });

  it('does not store a result built across an eviction of what it holds, nor writes, nor one a service failed', async () => {
    const { bus, cache } = make();
    const miss = await missOf(cache, null);
    await bus.publish({ topic: 'products', sku: 'A' });
    await new Promise((resolve) => setImmediate(resolve));
    const deps = createDependencies();
    deps.entities.add('Product:A');
    expect(await cache.store(miss, '{"data":{}}', deps)).toBeUndefined();
    const write = createDependencies();
    write.write = true;
    expect(await cache.store(await missOf(cache, null), '{"data":{}}', write)).toBeUndefined();
    const failed = createDependencies();
    failed.unavailable.add('catalog');
    expect(await cache.store(await missOf(cache, null), '{"data":{}}', failed)).toBeUndefined();
    // maxAge 0 and something unannounced (devices): not kept at all.
    const devices = createDependencies();
    devices.announced = false;
    expect(await cache.store(await missOf(cache, 'a', { maxAge: 0, scope: 'PRIVATE' }), '{"data":{}}', devices)).toBeUndefined();
  });

  it('bounds the in-process store by entries and by bytes, the least recently used first', async () => {
    const store = createMemoryStore({ maxEntries: 3, maxBytes: 4000 });
    const result = (body: string): CachedResult => ({ body, etag: 'x', builtAt: Date.now(), expiresAt: Date.now() + 60_000, services: [], feeds: [] });
    for (const key of ['a', 'b', 'c']) await store.put(key, result('{}'), { freshMs: 60_000, keepMs: 60_000, entities: ['E'] });
    await store.get('a');
    await store.put('d', result('{}'), { freshMs: 60_000, keepMs: 60_000, entities: [] });
    expect(store.size).toBe(3);
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    await store.put('big', result(`"${'x'.repeat(3000)}"`), { freshMs: 60_000, keepMs: 60_000, entities: [] });
    expect(store.bytes).toBeLessThanOrEqual(4000);
    expect(await store.get('big')).toBeDefined();
    await store.put('huge', result(`"${'x'.repeat(5000)}"`), { freshMs: 60_000, keepMs: 60_000, entities: [] });
    expect(await store.get('huge')).toBeUndefined();
    expect(await store.invalidate(['E'])).toBeGreaterThanOrEqual(0);
  });
});
