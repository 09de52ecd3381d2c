import { waitUntil } from '../support/waitUntil.js';
import { startCacheSystem, type Answer, type CacheSystem } from './cacheSystem.js';

// design.md §13: a result with the viewer's data is cached per user, and never served to another.
describe('response cache: private results', () => {
  let system: CacheSystem;
  const orders: Record<string, string> = {};
  beforeAll(async () => {
    system = await startCacheSystem({ env: { RESPONSE_CACHE_FEED_CHECK: '1h' } });
    for (const user of ['alice', 'bob']) orders[user] = await system.placeOrder(user);
  }, 120_000);
  afterAll(() => system?.stop());

  const numbersOf = (answer: Answer) => answer.body!.data.viewer.orders.edges.map((e: { node: { number: string } }) => e.node.number);
  const statusOf = (answer: Answer, number: string) => answer.body!.data.viewer.orders.edges.find((e: { node: { number: string } }) => e.node.number === number)?.node.status;

  it('gives each user only their own screen, the second time from the cache', async () => {
    for (const user of ['alice', 'bob']) {
      const first = await system.request('OrderList', {}, { as: user });
      expect(first.body!.errors).toBeUndefined();
      expect(numbersOf(first)).toEqual([orders[user]]);
      // A user's first request creates their profile, whose notice evicts what that request built: the next is cached.
      await waitUntil(async () => (await system.callsTo('orders', () => system.request('OrderList', {}, { as: user }))).calls.length === 0, { what: `${user}'s screen cached` });
    }
    for (let round = 0; round < 2; round++) {
      for (const user of ['alice', 'bob']) {
        const again = await system.callsTo('orders', () => system.request('OrderList', {}, { as: user }));
        expect(again.calls).toEqual([]);
        expect(again.result.body!.data.viewer.id).toBe(Buffer.from(`1:User:${user}`).toString('base64url'));
        expect(numbersOf(again.result)).toEqual([orders[user]]);
        // A personal result is never public, whichever way it was answered.
        expect(again.result.headers.get('cache-control')).toMatch(/^private/);
      }
    }
    // Someone else, or no one: never alice's or bob's.
    const carol = await system.request('OrderList', {}, { as: 'carol' });
    expect(numbersOf(carol)).toEqual([]);
    const anonymous = await system.request('OrderList');
    expect(anonymous.body!.data?.viewer ?? null).toBeNull();
    expect(anonymous.body!.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('evicts a user\'s screen when the orders service changes one of their orders, and only theirs', async () => {
    await system.request('OrderList', {}, { as: 'alice' });
    await system.request('OrderList', {}, { as: 'bob' });
    const notices = await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' });
    await system.setOrderStatus(orders.alice!, 'SHIPPED');
    await waitUntil(async () => (await system.metric('bff_response_cache_invalidations_total', { reason: 'notice' })) > notices, { what: 'the order notice to evict' });
    const alice = await system.callsTo('orders', () => system.request('OrderList', {}, { as: 'alice' }));
    expect(alice.calls.length).toBeGreaterThan(0);
    expect(statusOf(alice.result, orders.alice!)).toBe('SHIPPED');
    const bob = await system.callsTo('orders', () => system.request('OrderList', {}, { as: 'bob' }));
    expect(bob.calls).toEqual([]);
    expect(numbersOf(bob.result)).toEqual([orders.bob]);
  });

  it('keeps the shared part shared and the viewer part per user on a mixed screen (Home)', async () => {
    const alice = await system.request('Home', { first: 3 }, { as: 'alice' });
    const bob = await system.request('Home', { first: 3 }, { as: 'bob' });
    expect(alice.body!.data.viewer.name).toBe('alice');
    expect(bob.body!.data.viewer.name).toBe('bob');
    expect(bob.body!.data.products).toEqual(alice.body!.data.products);
    const again = await system.callsTo('users', () => system.request('Home', { first: 3 }, { as: 'bob' }));
    expect(again.calls).toEqual([]);
    expect(again.result.body!.data.viewer.name).toBe('bob');
  });
});
