import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';

// The variables of deadlines, retries, breakers, limits and shutdown: validated once at start,
// an error naming the variable and what was expected.
describe('defaults', () => {
  const config = loadConfig({});

  it('gives every service DOWNSTREAM_TIMEOUT_MS unless its own is set', () => {
    expect(config.resilience.timeoutsMs).toEqual({ users: 2000, catalog: 2000, orders: 2000, notifications: 2000 });
    expect(loadConfig({ DOWNSTREAM_TIMEOUT_MS: '800', CATALOG_TIMEOUT_MS: '300' }).resilience.timeoutsMs).toEqual({ users: 800, catalog: 300, orders: 800, notifications: 800 });
  });

  it('limits a request to a 5 s budget, 2 retries of a read, and a breaker at 50 % of 10 calls in 10 s, reset after 10 s', () => {
    expect(config.resilience).toMatchObject({ requestBudgetMs: 5000, retries: 2, breaker: { errorPercent: 50, minRequests: 10, windowMs: 10_000, resetMs: 10_000 } });
  });

  it('turns batching off and limits documents, bodies and the rate per client', () => {
    expect(config.limits).toEqual({
      document: { maxDepth: 12, maxAliases: 20, maxDirectives: 20, maxTokens: 3000, maxCost: 20_000 },
      batchLimit: 0,
      maxBodyBytes: 102_400,
      rateLimit: { perSecond: 20, burst: 40 },
      trustProxyHops: 0,
    });
  });

  it('turns the rate limit off with RATE_LIMIT_PER_SECOND=0', () => {
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: '0' }).limits.rateLimit).toBeUndefined();
  });

  it('drains for 5 s before closing in production only', () => {
    expect(config.lifecycle.shutdownDelayMs).toBe(0);
    const production = loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', AUTH_JWKS_URL: 'https://idp/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' });
    expect(production.lifecycle.shutdownDelayMs).toBe(5000);
  });
});

describe('invalid values', () => {
  it.each([
    ['REQUEST_BUDGET_MS', 'soon', /REQUEST_BUDGET_MS: expected a positive integer, got "soon"/],
    ['CATALOG_TIMEOUT_MS', '0', /CATALOG_TIMEOUT_MS: expected a positive integer, got "0"/],
    ['DOWNSTREAM_RETRIES', '50', /DOWNSTREAM_RETRIES: expected an integer from 0 to 10, got "50"/],
    ['BREAKER_ERROR_PERCENT', '150', /BREAKER_ERROR_PERCENT: expected an integer from 0 to 100, got "150"/],
    ['RATE_LIMIT_PER_SECOND', '-1', /RATE_LIMIT_PER_SECOND: expected an integer from 0 to \d+, got "-1"/],
    ['MAX_BODY_BYTES', '1e6', /MAX_BODY_BYTES: expected a positive integer, got "1e6"/],
  ])('refuses %s=%s, naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
