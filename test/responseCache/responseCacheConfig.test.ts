import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';

// The response cache's variables: validated at start, naming the variable (README, Environment).
describe('response cache configuration', () => {
  it('is on by default, with its documented bounds', () => {
    expect(loadConfig({}).responseCache).toEqual({ enabled: true, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, staleMaxMs: 3_600_000, feedCheckMs: 2_000, revalidatedTtlMs: 60_000 });
  });

  it('reads every variable', () => {
    const config = loadConfig({ RESPONSE_CACHE: 'off', RESPONSE_CACHE_MAX_ENTRIES: '50', RESPONSE_CACHE_MAX_BYTES: '1048576', RESPONSE_CACHE_STALE_MAX: '15m', RESPONSE_CACHE_FEED_CHECK: '500ms', RESPONSE_CACHE_REVALIDATED_TTL: '30s' });
    expect(config.responseCache).toEqual({ enabled: false, maxEntries: 50, maxBytes: 1_048_576, staleMaxMs: 900_000, feedCheckMs: 500, revalidatedTtlMs: 30_000 });
  });

  it.each([
    ['RESPONSE_CACHE', 'maybe', /RESPONSE_CACHE: expected one of on, off/],
    ['RESPONSE_CACHE_MAX_BYTES', '64MB', /RESPONSE_CACHE_MAX_BYTES: expected a positive integer/],
    ['RESPONSE_CACHE_MAX_ENTRIES', '0', /RESPONSE_CACHE_MAX_ENTRIES: expected a positive integer/],
    ['RESPONSE_CACHE_STALE_MAX', '1 hour', /RESPONSE_CACHE_STALE_MAX: expected a duration/],
    ['RESPONSE_CACHE_FEED_CHECK', '0', /RESPONSE_CACHE_FEED_CHECK: expected a duration/],
  ])('refuses %s=%s, naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
