import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';

describe('idempotency settings', () => {
  it('default to keys kept 7 days, a 30 s lock and an hourly purge', () => {
    expect(loadConfig({}).idempotency).toEqual({ keyTtlMs: 7 * 86_400_000, lockTimeoutMs: 30_000, purgeIntervalMs: 3_600_000 });
  });

  it('read durations with a unit: ms, s, m, h or d', () => {
    const config = loadConfig({ IDEMPOTENCY_KEY_TTL: '36h', IDEMPOTENCY_LOCK_TIMEOUT: '1500ms', IDEMPOTENCY_PURGE_INTERVAL: '5m' });
    expect(config.idempotency).toEqual({ keyTtlMs: 36 * 3_600_000, lockTimeoutMs: 1500, purgeIntervalMs: 300_000 });
  });

  it('refuse a duration without a unit, naming the variable and what was expected', () => {
    expect(() => loadConfig({ IDEMPOTENCY_KEY_TTL: '7' })).toThrow(ConfigError);
    expect(() => loadConfig({ IDEMPOTENCY_KEY_TTL: '7' })).toThrow(/IDEMPOTENCY_KEY_TTL: expected a duration such as 500ms, 30s, 15m, 1h or 7d, got "7"/);
  });

});

describe('the crash hook BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE', () => {
  it('is refused outside NODE_ENV=test', () => {
    expect(() => loadConfig({ BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: 'POST /orders' })).toThrow(/BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: a test hook, only allowed when NODE_ENV=test/);
  });

  it('is taken under NODE_ENV=test', () => {
    expect(loadConfig({ NODE_ENV: 'test', BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: 'POST /orders' }).testHooks).toEqual({ crashAfterDownstreamWrite: 'POST /orders' });
  });
});
