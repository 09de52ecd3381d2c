import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { signDevToken } from '../../src/auth/index.js';
import { DEV_PRIVATE_JWK } from '../../src/auth/devKey.js';
import { ConfigError, loadConfig } from '../../src/config/loadConfig.js';
import { freePort } from '../../src/util/freePort.js';
import { startTestSystem, type GraphQLResponse, type TestSystem } from '../support/startTestSystem.js';
import { wsClient } from '../support/wsClient.js';

const VIEWER = '{ viewer { name } }';
const VIEWER_AND_PRODUCTS = '{ viewer { name } products(first: 2) { edges { node { sku } } } }';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

function bearer(token: string) {
  return { headers: { authorization: `Bearer ${token}` } };
}

/** A 401 refusal of the whole request: UNAUTHENTICATED, RFC 6750 challenge, no data. */
function expectRefused(response: GraphQLResponse) {
  expect(response.status).toBe(401);
  expect(response.body.data).toBeUndefined();
  expect(response.body.errors?.length).toBeGreaterThan(0);
  expect(response.body.errors!.every((e) => e.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b.*invalid_token/);
}

/** Signs a token with the development key, with full control of the claims. */
async function signWithDevKey(claims: Record<string, unknown>) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: DEV_PRIVATE_JWK.kid!, typ: 'JWT' }).sign(await importJWK(DEV_PRIVATE_JWK, 'ES256'));
}

describe('development auth (the local dev key)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem();
  });
  afterAll(() => system?.stop());

  it('accepts a valid dev token for viewer', async () => {
    const response = await system.gql(VIEWER, {}, bearer(await signDevToken({ sub: 'demo' })));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.viewer).toEqual({ name: 'Demo User' });
  });

  it('without an Authorization header, nulls viewer with UNAUTHENTICATED at ["viewer"] (HTTP 200) while products still resolves', async () => {
    const response = await system.gql(VIEWER_AND_PRODUCTS);
    expect(response.status).toBe(200);
    expect(response.body.data.viewer).toBeNull();
    expect(response.body.data.products.edges).toHaveLength(2);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors![0]!.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.body.errors![0]!.path).toEqual(['viewer']);
  });

  it('refuses an expired token with 401, UNAUTHENTICATED, WWW-Authenticate invalid_token and no data', async () => {
    const token = await signDevToken({ expiresIn: nowS() - 120 });
    expectRefused(await system.gql(VIEWER_AND_PRODUCTS, {}, bearer(token)));
  });

  it('refuses an alg "none" token with 401', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'demo', iss: 'mobile-bff-dev', aud: 'mobile-bff', exp: nowS() + 3600 })}.`;
    expectRefused(await system.gql(VIEWER, {}, bearer(token)));
  });

  it('refuses a token signed with another EC key with 401', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'mobile-bff-dev-1', alg: 'ES256' };
    const token = await signDevToken({ key: { jwk, issuer: 'mobile-bff-dev', audience: 'mobile-bff' } });
    expectRefused(await system.gql(VIEWER, {}, bearer(token)));
  });

  it.each(['Basic abc', 'Bearer'])('refuses the malformed Authorization header %j with 401', async (header) => {
    expectRefused(await system.gql(VIEWER, {}, { headers: { authorization: header } }));
  });

  it('refuses a token without sub with 401', async () => {
    const token = await signWithDevKey({ iss: 'mobile-bff-dev', aud: 'mobile-bff', iat: nowS(), exp: nowS() + 3600 });
    expectRefused(await system.gql(VIEWER, {}, bearer(token)));
  });

  it('accepts a token issued 30 s in the future (clock skew within tolerance)', async () => {
    const future = nowS() + 30;
    const token = await signWithDevKey({ sub: 'demo', iss: 'mobile-bff-dev', aud: 'mobile-bff', iat: future, nbf: future, exp: future + 3600 });
    const response = await system.gql(VIEWER, {}, bearer(token));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.viewer).toEqual({ name: 'Demo User' });
  });
});

describe('production auth (a remote JWKS)', () => {
  const ISSUER = 'https://issuer.test';
  const AUDIENCE = 'mobile-bff';
  const KID = 'prod-key-1';
  let jwksServer: Server;
  let jwksRequests = 0;
  let privateJwk: JWK;
  let system: TestSystem;

  const signProd = (options: { sub?: string; name?: string; audience?: string; jwk?: JWK } = {}) =>
    signDevToken({
      sub: options.sub ?? 'prod-user',
      ...(options.name ? { name: options.name } : {}),
      key: { jwk: options.jwk ?? privateJwk, issuer: ISSUER, audience: options.audience ?? AUDIENCE },
    });

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
    jwksServer = createServer((req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    system = await startTestSystem({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
  });
  afterAll(async () => {
    await system?.stop();
    jwksServer.closeAllConnections();
    await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
  });

  it('accepts an RS256 token with the right kid, issuer and audience, creating the profile from the name claim', async () => {
    const sub = `prod-${Date.now()}`;
    const response = await system.gql('{ viewer { id name } }', {}, bearer(await signProd({ sub, name: 'Ada Lovelace' })));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.viewer.name).toBe('Ada Lovelace');
  });

  it('creates the profile of a token without a name claim with the sub as its name', async () => {
    const sub = `anon-${Date.now()}`;
    const response = await system.gql(VIEWER, {}, bearer(await signProd({ sub })));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.viewer).toEqual({ name: sub });
  });

  it('refuses a development-key token with 401', async () => {
    expectRefused(await system.gql(VIEWER, {}, bearer(await signDevToken())));
  });

  it('refuses an HS256 token with 401', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: KID, typ: 'JWT' })
      .setSubject('prod-user')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-shared-secret-that-is-long-enough-for-hs256'));
    expectRefused(await system.gql(VIEWER, {}, bearer(token)));
  });

  it('refuses a token for another audience with 401', async () => {
    expectRefused(await system.gql(VIEWER, {}, bearer(await signProd({ audience: 'another-api' }))));
  });

  it('refuses a token with an unknown kid after at most one extra JWKS fetch', async () => {
    // Make sure the key set has been fetched once already.
    expect((await system.gql(VIEWER, {}, bearer(await signProd()))).status).toBe(200);
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const stranger: JWK = { ...(await exportJWK(privateKey)), kid: 'unknown-kid', alg: 'RS256' };
    const before = jwksRequests;
    expectRefused(await system.gql(VIEWER, {}, bearer(await signProd({ jwk: stranger }))));
    expectRefused(await system.gql(VIEWER, {}, bearer(await signProd({ jwk: stranger }))));
    expect(jwksRequests - before).toBeLessThanOrEqual(1);
  });
});

describe('loadConfig', () => {
  function configError(env: Record<string, string>): ConfigError {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
  }

  it('refuses PORT=abc, naming PORT and the expected integer', () => {
    expect(configError({ PORT: 'abc' }).message).toMatch(/(^|\s)PORT: expected an integer from 0 to 65535, got "abc"/);
  });

  it('refuses NODE_ENV=production without AUTH_JWKS_URL, naming AUTH_JWKS_URL', () => {
    expect(configError({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/app' }).message).toMatch(/AUTH_JWKS_URL: required when NODE_ENV=production/);
  });

  it('refuses PERSISTED_OPERATIONS=maybe, naming it and the allowed values', () => {
    expect(configError({ PERSISTED_OPERATIONS: 'maybe' }).message).toMatch(/PERSISTED_OPERATIONS: expected one of require, allowlist, off, got "maybe"/);
  });

  it('refuses DATABASE_URL=mysql://x, naming DATABASE_URL and the expected postgres URL', () => {
    expect(configError({ DATABASE_URL: 'mysql://x' }).message).toMatch(/DATABASE_URL: expected a postgres or postgresql URL, got "mysql:\/\/x"/);
  });
});

describe('identity provider unreachable (AUTH_UNAVAILABLE)', () => {
  const ISSUER = 'https://issuer.test';
  const AUDIENCE = 'mobile-bff';
  let jwksPort: number;
  let jwksServer: Server | undefined;
  let privateJwk: JWK;
  let publicJwk: JWK;
  let system: TestSystem;
  let token: string;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: 'idp-1', alg: 'ES256' };
    publicJwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    jwksPort = await freePort(); // nothing listens there until the identity provider "comes back"
    system = await startTestSystem({ AUTH_JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks.json`, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
    token = await signDevToken({ sub: `idp-${Date.now()}`, key: { jwk: privateJwk, issuer: ISSUER, audience: AUDIENCE } });
  });
  afterAll(async () => {
    await system?.stop();
    jwksServer?.closeAllConnections();
    await new Promise<void>((resolve) => (jwksServer ? jwksServer.close(() => resolve()) : resolve()));
  });

  it('answers 503 AUTH_UNAVAILABLE with Retry-After and no invalid_token challenge, so the app keeps its session', async () => {
    const response = await system.gql(VIEWER_AND_PRODUCTS, {}, bearer(token));
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.body.data).toBeUndefined();
    expect(response.body.errors).toEqual([
      { message: expect.stringMatching(/identity provider cannot be reached/), extensions: { code: 'AUTH_UNAVAILABLE', retryAfterSeconds: expect.any(Number) } },
    ]);
  });

  it('closes a WebSocket whose connection_init it cannot verify with 1013 (try again later), not 4403 (refresh the token)', async () => {
    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(system.url, { Authorization: `Bearer ${token}` }, { closed: (e) => (closed = e) });
    const failure = await new Promise<unknown>((resolve) => client.subscribe({ query: '{ __typename }' }, { next: () => {}, error: resolve, complete: () => resolve(undefined) }));
    await client.dispose();
    expect(failure).toBeDefined();
    expect(closed).toMatchObject({ code: 1013, reason: expect.stringMatching(/identity provider/i) });
  });

  it('accepts the same token, unrefreshed, once the identity provider answers again', async () => {
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer!.listen(jwksPort, '127.0.0.1', resolve));
    const response = await system.gql(VIEWER, {}, bearer(token));
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const client = wsClient(system.url, { Authorization: `Bearer ${token}` });
    const result = await new Promise<unknown>((resolve, reject) => {
      let data: unknown;
      client.subscribe({ query: '{ __typename }' }, { next: (r) => (data = r.data), error: reject, complete: () => resolve(data) });
    });
    await client.dispose();
    expect(result).toEqual({ __typename: 'Query' });
  });
});
