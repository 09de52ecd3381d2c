import { byHash } from '../support/firstParty.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// The catalogue screen through the project's usual fault-proxy harness, as a check from outside
// would run it: calls counted at the catalog's proxy, a rename straight after through the
// catalog's own PUT, no waiting in between.
describe('response cache behind the services\' proxies', () => {
  let system: SystemBehindProxies;
  beforeAll(async () => void (system = await startSystemBehindProxies({ RESPONSE_CACHE_FEED_CHECK: '1h' })), 120_000);
  afterAll(() => system?.stop());

  const catalogue = async () => {
    const response = await fetch(system.bff.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(byHash('CatalogPage', { first: 10 })) });
    return (await response.json()) as { data: { products: { edges: { node: { sku: string; name: string } }[] } } };
  };
  const catalogCalls = async <T>(fn: () => Promise<T>) => {
    const before = system.proxies.catalog.received.length;
    const result = await fn();
    return { result, calls: system.proxies.catalog.received.length - before };
  };

  it('calls the catalog once for two identical requests, and shows a rename on the very next one', async () => {
    const first = await catalogCalls(catalogue);
    expect(first.calls).toBeGreaterThan(0);
    const second = await catalogCalls(catalogue);
    expect(second.calls).toBe(0);
    expect(second.result).toEqual(first.result);

    const sku = first.result.data.products.edges[3]!.node.sku;
    const put = await fetch(`${system.bff.serviceUrls.catalog}/products/${sku}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'AAD renamed now', priceCents: 100, currency: 'EUR' }) });
    expect(put.status).toBe(200);
    const renamed = await catalogue();
    expect(renamed.data.products.edges.map((e) => e.node.name)).toContain('AAD renamed now');
    const cachedAgain = await catalogCalls(catalogue);
    expect(cachedAgain.calls).toBe(0);
    expect(cachedAgain.result).toEqual(renamed);
  });
});
