import { loadConfig } from '../../src/config/loadConfig.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// What the public port shows beyond GraphQL. In production, /metrics (versions, routes, breaker
// states, client names) is on a port of its own; CORS headers go only to listed origins, never
// `null`, never with credentials (the BFF reads bearer tokens, not cookies).
const PRODUCTION_ENV = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db.invalid/x', AUTH_JWKS_URL: 'https://idp.invalid/jwks.json', AUTH_ISSUER: 'https://idp.invalid/', AUTH_AUDIENCE: 'mobile-bff' };

const preflight = (url: string, origin: string) =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
const post = (url: string, origin: string) =>
  fetch(url, { method: 'POST', headers: { origin, 'content-type': 'application/json', 'apollographql-client-name': 'web' }, body: JSON.stringify({ query: '{ __typename }' }) });

describe('production defaults (loadConfig)', () => {
  it('puts /metrics on port 9464 and turns CORS off', () => {
    const config = loadConfig(PRODUCTION_ENV);
    expect(config.metricsPort).toBe(9464);
    expect(config.corsOrigins).toEqual([]);
  });

  it('refuses METRICS_PORT equal to PORT, and an origin with a path, naming the variable', () => {
    expect(() => loadConfig({ ...PRODUCTION_ENV, PORT: '4000', METRICS_PORT: '4000' })).toThrow(/METRICS_PORT: must differ from PORT/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/CORS_ORIGINS: expected comma-separated origins/);
    expect(() => loadConfig({ CORS_ORIGINS: 'null' })).toThrow(/CORS_ORIGINS: expected comma-separated origins/);
  });
});

describe('NODE_ENV=production', () => {
  let system: TestSystem;
  beforeAll(async () => {
    const { corsOrigins } = loadConfig(PRODUCTION_ENV);
    system = await startTestSystem({}, { nodeEnv: 'production', corsOrigins, metricsPort: 0 });
  });
  afterAll(() => system?.stop());

  it('does not serve /metrics on the public port', async () => {
    const response = await fetch(system.url.replace(/\/graphql$/, '/metrics'));
    expect(response.status).toBe(404);
    expect(await response.text()).not.toMatch(/bff_/);
  });

  it('serves /metrics on METRICS_PORT, and nothing else there', async () => {
    const metricsUrl = system.bff.metricsUrl;
    expect(new URL(metricsUrl).port).not.toBe(new URL(system.url).port);
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^# HELP bff_/m);
    expect((await fetch(metricsUrl.replace(/\/metrics$/, '/graphql'))).status).toBe(404);
  });

  it.each(['https://evil.example', 'null'])('sends no CORS headers to the origin %s, on a preflight or a request', async (origin) => {
    for (const response of [await preflight(system.url, origin), await post(system.url, origin)]) {
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });
});

describe('CORS_ORIGINS lists the web apps allowed', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' }, { nodeEnv: 'production', metricsPort: 0 });
  });
  afterAll(() => system?.stop());

  it('allows a listed origin, without credentials', async () => {
    const pre = await preflight(system.url, 'https://admin.example.com');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    const response = await post(system.url, 'https://app.example.com');
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(response.headers.get('vary')).toMatch(/origin/i);
  });

  it.each(['https://evil.example', 'null', 'https://app.example.com.evil.example'])('does not answer %s', async (origin) => {
    const response = await post(system.url, origin);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('development', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ NODE_ENV: 'development' });
  });
  afterAll(() => system?.stop());

  it('serves /metrics on the public port (no METRICS_PORT set)', async () => {
    expect(system.bff.metricsUrl).toBe(system.url.replace(/\/graphql$/, '/metrics'));
    expect((await fetch(system.bff.metricsUrl)).status).toBe(200);
  });

  it('allows any origin but null, never with credentials', async () => {
    const response = await post(system.url, 'http://localhost:3000');
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect((await post(system.url, 'null')).headers.get('access-control-allow-origin')).toBeNull();
  });
});
