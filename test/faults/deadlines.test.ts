import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// design.md §8: an explicit deadline on every downstream call, and a budget for the whole request
// that caps the deadline of every call made in it. The time bounds below are sanity checks far
// from the expected times (and far below the stalled service's delay), not performance assertions.
async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await fn();
  return [result, Date.now() - started];
}

describe('a slow catalog, with a 300 ms catalog deadline', () => {
  let system: SystemBehindProxies;
  beforeAll(async () => {
    system = await startSystemBehindProxies({ CATALOG_TIMEOUT_MS: '300', BREAKER_MIN_REQUESTS: '100000' });
  });
  afterAll(() => system?.stop());

  it('answers once the deadline fires: products null with DOWNSTREAM_UNAVAILABLE, the viewer resolved', async () => {
    system.proxies.catalog.inject({ kind: 'delay', ms: 20_000 });
    const [{ status, body }, ms] = await timed(() => system.bff.gql('{ viewer { name } products(first: 2) { edges { node { name } } } }', {}, { as: 'demo' }));
    expect(status).toBe(200);
    expect(body.data).toEqual({ viewer: { name: 'Demo User' }, products: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['products'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'catalog' } });
    expect(ms).toBeLessThan(5_000);
  });

  it('does not retry a read that timed out: a slow service is not helped by more requests', async () => {
    system.proxies.catalog.inject({ kind: 'delay', ms: 20_000 });
    const before = system.proxies.catalog.received.length;
    await system.bff.gql('{ products(first: 2) { edges { node { name } } } }');
    expect(system.proxies.catalog.received.length - before).toBe(1);
  });
});

// 3 s: enough for the slow orders below and the BFF's own work on a machine whose cores are busy
// (1 s was not), far below the services' 10 s deadlines and the stalled catalog's 20 s.
describe('a 3 s request budget, with 10 s service deadlines', () => {
  let system: SystemBehindProxies;
  beforeAll(async () => {
    system = await startSystemBehindProxies({ REQUEST_BUDGET_MS: '3000', DOWNSTREAM_TIMEOUT_MS: '10000', BREAKER_MIN_REQUESTS: '100000' });
  });
  afterAll(() => system?.stop());
  afterEach(() => {
    for (const proxy of Object.values(system.proxies)) proxy.heal();
  });

  it('caps a call’s deadline: a stalled catalog answers DOWNSTREAM_UNAVAILABLE within the budget, not its own deadline', async () => {
    system.proxies.catalog.inject({ kind: 'delay', ms: 20_000 });
    const [{ body }, ms] = await timed(() => system.bff.gql('{ products(first: 2) { edges { node { name } } } }'));
    expect(body.data).toEqual({ products: null });
    expect(body.errors![0]).toMatchObject({ path: ['products'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE' } });
    expect(ms).toBeLessThan(8_000);
  });

  it('gives a later level what is left of it: slow orders, then a stalled catalog, still answer within the budget', async () => {
    system.proxies.orders.inject({ kind: 'delay', ms: 500 });
    system.proxies.catalog.inject({ kind: 'delay', ms: 20_000 });
    const [{ body }, ms] = await timed(() => system.bff.gql('{ viewer { orders(first: 2) { edges { node { number lines { product { name } } } } } } }', {}, { as: 'demo' }));
    const orders = body.data.viewer.orders.edges;
    expect(orders).toHaveLength(2);
    expect(orders[0].node.number).toEqual(expect.any(String));
    expect(orders[0].node.lines[0].product).toBeNull();
    expect(new Set(body.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['DOWNSTREAM_UNAVAILABLE']));
    expect(ms).toBeLessThan(8_000);
  });
});
