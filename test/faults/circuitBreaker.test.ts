import { waitUntil } from '../support/waitUntil.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// design.md §8: a circuit breaker per service. After repeated failures it opens and calls fail
// fast, without reaching the service; after BREAKER_RESET_MS one probe goes through, and its
// success closes the breaker.
let system: SystemBehindProxies;
// Long enough that the open breaker's five requests and a scrape fit in it on a machine whose cores
// are busy (1 s did not); the tests wait for the half-open state, not for a fixed time.
const RESET_MS = 5_000;
beforeAll(async () => {
  // The response cache off: it reads the catalog's feed head at start, one more successful call in
  // the breaker's window, and these tests count the window's calls exactly.
  system = await startSystemBehindProxies({ DOWNSTREAM_RETRIES: '0', BREAKER_MIN_REQUESTS: '4', BREAKER_ERROR_PERCENT: '50', BREAKER_RESET_MS: String(RESET_MS), RESPONSE_CACHE: 'off' });
});
afterAll(() => system?.stop());

const SCREEN = '{ viewer { name } products(first: 2) { edges { node { name } } } }';

async function breakerState(service: string) {
  const text = await (await fetch(system.bff.url.replace(/\/graphql$/, '/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith(`bff_circuit_breaker_state{service="${service}"`) && l.endsWith(' 1'));
  return /state="(\w+)"/.exec(line ?? '')?.[1];
}

it('starts closed', async () => {
  expect(await breakerState('catalog')).toBe('closed');
});

it('opens after repeated failures of the catalog', async () => {
  system.proxies.catalog.inject({ kind: 'status', status: 503 });
  for (let i = 0; i < 4; i++) {
    const { body } = await system.bff.gql(SCREEN, {}, { as: 'demo' });
    expect(body.errors![0]!.extensions?.code).toBe('DOWNSTREAM_UNAVAILABLE');
  }
  expect(await breakerState('catalog')).toBe('open');
});

it('while open, fails catalog fields fast with DOWNSTREAM_UNAVAILABLE without a request reaching the catalog; other services still answer', async () => {
  const before = system.proxies.catalog.received.length;
  for (let i = 0; i < 5; i++) {
    const { status, body } = await system.bff.gql(SCREEN, {}, { as: 'demo' });
    expect(status).toBe(200);
    expect(body.data).toEqual({ viewer: { name: 'Demo User' }, products: null });
    expect(body.errors![0]).toMatchObject({ path: ['products'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'catalog' } });
  }
  expect(system.proxies.catalog.received.length).toBe(before);
  const metrics = await (await fetch(system.bff.url.replace(/\/graphql$/, '/metrics'))).text();
  expect(metrics).toMatch(/bff_circuit_breaker_rejections_total\{service="catalog"\} 5/);
});

it('half-opens after BREAKER_RESET_MS; a failed probe opens it again', async () => {
  await waitUntil(async () => (await breakerState('catalog')) === 'half_open', { timeoutMs: 4 * RESET_MS, intervalMs: 100, what: 'the catalog breaker to half-open' });
  const before = system.proxies.catalog.received.length;
  await system.bff.gql(SCREEN, {}, { as: 'demo' });
  expect(system.proxies.catalog.received.length - before).toBe(1);
  expect(await breakerState('catalog')).toBe('open');
});

it('closes after the catalog recovers: one successful probe, then every call goes through', async () => {
  system.proxies.catalog.heal();
  await waitUntil(async () => (await breakerState('catalog')) === 'half_open', { timeoutMs: 4 * RESET_MS, intervalMs: 100, what: 'the catalog breaker to half-open' });
  const before = system.proxies.catalog.received.length;
  const probe = await system.bff.gql(SCREEN, {}, { as: 'demo' });
  expect(probe.body.errors).toBeUndefined();
  expect(await breakerState('catalog')).toBe('closed');
  for (let i = 0; i < 3; i++) {
    const { body } = await system.bff.gql(SCREEN, {}, { as: 'demo' });
    expect(body.errors).toBeUndefined();
    expect(body.data.products.edges).toHaveLength(2);
  }
  expect(system.proxies.catalog.received.length - before).toBe(4);
});
