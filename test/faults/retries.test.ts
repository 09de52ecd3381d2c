import { toGlobalId } from '../../src/bff/ids/globalId.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';
import type { GraphQLResponse } from '../support/startTestSystem.js';

// design.md §8: retries only for idempotent reads, capped and jittered, `Retry-After` honoured
// within the deadline; never a write, never a 4xx.
let system: SystemBehindProxies;
beforeAll(async () => {
  system = await startSystemBehindProxies({ DOWNSTREAM_RETRIES: '2', REQUEST_BUDGET_MS: '5000', BREAKER_MIN_REQUESTS: '100000' });
});
afterAll(() => system?.stop());
afterEach(() => {
  for (const proxy of Object.values(system.proxies)) proxy.heal();
});

const PRODUCTS = '{ products(first: 2) { edges { node { name } } } }';

/** Requests the catalog proxy receives while `fn` runs. */
async function catalogRequests(fn: () => Promise<unknown>) {
  const before = system.proxies.catalog.received.length;
  await fn();
  return system.proxies.catalog.received.slice(before);
}

async function metrics() {
  return (await fetch(system.bff.url.replace(/\/graphql$/, '/metrics'))).text();
}

describe('an idempotent read', () => {
  it('answered 503 with Retry-After: 1 is retried after waiting that long, and the request succeeds', async () => {
    system.proxies.catalog.inject({ kind: 'status', status: 503, headers: { 'retry-after': '1' } }, 1);
    let result: GraphQLResponse | undefined;
    const started = Date.now();
    const received = await catalogRequests(async () => {
      result = await system.bff.gql(PRODUCTS);
    });
    expect(result!.body.errors).toBeUndefined();
    expect(result!.body.data.products.edges).toHaveLength(2);
    expect(received).toHaveLength(2);
    // Honoured: the retry waited for the service's Retry-After (a lower bound, not a timing target).
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(await metrics()).toMatch(/bff_downstream_retries_total\{service="catalog",route="GET \/products",reason="503"\} 1/);
  });

  it('answered 503 with a Retry-After beyond the request budget is not waited for: DOWNSTREAM_UNAVAILABLE at once', async () => {
    system.proxies.catalog.inject({ kind: 'status', status: 503, headers: { 'retry-after': '60' } }, 1);
    let body: any;
    const started = Date.now();
    const received = await catalogRequests(async () => {
      ({ body } = await system.bff.gql(PRODUCTS));
    });
    expect(received).toHaveLength(1);
    expect(body.data.products).toBeNull();
    expect(body.errors[0]).toMatchObject({ path: ['products'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('whose connection is dropped is retried, and the request succeeds', async () => {
    system.proxies.catalog.inject({ kind: 'drop' }, 1);
    let body: any;
    const received = await catalogRequests(async () => {
      ({ body } = await system.bff.gql(PRODUCTS));
    });
    expect(body.errors).toBeUndefined();
    expect(received).toHaveLength(2);
  });

  it('is retried at most DOWNSTREAM_RETRIES times, then DOWNSTREAM_UNAVAILABLE', async () => {
    system.proxies.catalog.inject({ kind: 'status', status: 502 });
    let body: any;
    const received = await catalogRequests(async () => {
      ({ body } = await system.bff.gql(PRODUCTS));
    });
    expect(received).toHaveLength(3);
    expect(body.errors[0]).toMatchObject({ path: ['products'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE' } });
  });

  it.each([409, 422, 404])('answered %i is not retried', async (status) => {
    system.proxies.catalog.inject({ kind: 'status', status });
    let body: any;
    const received = await catalogRequests(async () => {
      ({ body } = await system.bff.gql(PRODUCTS));
    });
    expect(received).toHaveLength(1);
    // An answer the BFF does not expect is a bug on one side: masked, never retried.
    expect(body.errors[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});

describe('a write', () => {
  it('answered 503 is never retried: placeOrder reaches the orders service once and answers DOWNSTREAM_UNAVAILABLE', async () => {
    system.proxies.orders.inject({ kind: 'status', status: 503, headers: { 'retry-after': '0' } });
    const before = system.proxies.orders.received.length;
    const { body } = await system.bff.gql(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code } } }',
      { input: { idempotencyKey: `retry-${Date.now()}`, lines: [{ productId: toGlobalId('Product', 'SKU-0001'), quantity: 1 }] } },
      { as: 'demo' },
    );
    const writes = system.proxies.orders.received.slice(before).filter((r) => r.method === 'POST');
    expect(writes).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: ['placeOrder'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'orders' } });
  });

  it('whose connection is dropped is not retried either', async () => {
    system.proxies.orders.inject({ kind: 'drop' });
    const before = system.proxies.orders.received.length;
    const { body } = await system.bff.gql(
      'mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } } }',
      { input: { idempotencyKey: `drop-${Date.now()}`, lines: [{ productId: toGlobalId('Product', 'SKU-0002'), quantity: 1 }] } },
      { as: 'demo' },
    );
    expect(system.proxies.orders.received.slice(before).filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(body.errors![0]!.extensions!.code).toBe('DOWNSTREAM_UNAVAILABLE');
  });
});
