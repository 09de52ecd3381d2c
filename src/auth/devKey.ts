import type { JWK } from 'jose';

/**
 * The development signing key. It is public on purpose, like every local-development secret
 * shipped in a repository: the server accepts it only when no production auth is configured,
 * and configuration refuses to start with `NODE_ENV=production` unless `AUTH_JWKS_URL` is set.
 */
export const DEV_PRIVATE_JWK: JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'g0rqMBKvmT5NpR-EhysnZ4I6UWzvibW7WUO5kn8af1I',
  y: 'mEcSDOOE6atKmAUgfm4fuMVFXOaT8ffYJAFVw8sDKDs',
  d: 'T72CGvx3OApcT1ScrstFzW8RYy2Yjnz4rh-xdj1EfWY',
  kid: 'mobile-bff-dev-1',
  alg: 'ES256',
};

export const DEV_PUBLIC_JWK: JWK = { kty: 'EC', crv: 'P-256', x: DEV_PRIVATE_JWK.x!, y: DEV_PRIVATE_JWK.y!, kid: DEV_PRIVATE_JWK.kid!, alg: 'ES256' };
export const DEV_ISSUER = 'mobile-bff-dev';
export const DEV_AUDIENCE = 'mobile-bff';
