import { setTimeout as sleep } from 'node:timers/promises';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// Issue 13: a half-open breaker lets one probe through, and that probe's outcome decides. A
// probe cut short by its own request's budget (REQUEST_BUDGET_MS below the catalog's timeout)
// learnt nothing about the catalog, so it must not close the breaker.
let system: SystemBehindProxies;
beforeAll(async () => {
  system = await startSystemBehindProxies({
    DOWNSTREAM_RETRIES: '0',
    BREAKER_MIN_REQUESTS: '4',
    BREAKER_ERROR_PERCENT: '50',
    BREAKER_RESET_MS: '300',
    CATALOG_TIMEOUT_MS: '5000',
    REQUEST_BUDGET_MS: '400',
  });
});
afterAll(() => system?.stop());

const SCREEN = '{ products(first: 2) { edges { node { name } } } }';

/** Polls the breaker's own state (not a fixed sleep) until it is `state`. */
async function until(state: string) {
  while (system.bff.bff.breakerState('catalog') !== state) await sleep(20);
}

it('does not close on a half-open probe that the request budget cut short; a real answer then closes it', async () => {
  system.proxies.catalog.inject({ kind: 'status', status: 503 });
  for (let i = 0; i < 4; i++) await system.bff.gql(SCREEN);
  expect(system.bff.bff.breakerState('catalog')).toBe('open');

  await until('half_open');
  system.proxies.catalog.inject({ kind: 'delay', ms: 2_000 });
  const probe = await system.bff.gql(SCREEN);
  expect(probe.body.errors?.[0]?.extensions).toMatchObject({ code: 'DOWNSTREAM_UNAVAILABLE', service: 'catalog' });
  expect(system.bff.bff.breakerState('catalog')).not.toBe('closed');

  system.proxies.catalog.heal();
  await until('half_open');
  const healthy = await system.bff.gql(SCREEN);
  expect(healthy.body.errors).toBeUndefined();
  expect(system.bff.bff.breakerState('catalog')).toBe('closed');
});
