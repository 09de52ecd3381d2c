import { importJWK, SignJWT, type JWK } from 'jose';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_PRIVATE_JWK } from './devKey.js';

export interface DevTokenOptions {
  /** The user id. @default 'demo' */
  sub?: string;
  /** Lifetime, in jose's notation (`'12h'`, `'90s'`) or seconds since the epoch. @default '12h' */
  expiresIn?: string | number;
  name?: string;
  email?: string;
  /** Another key, for tests that sign as a production identity provider would. */
  key?: { jwk: JWK; issuer: string; audience: string };
}

/** Signs a development JWT. Only a server without production auth (`AUTH_JWKS_URL`) accepts it. */
export async function signDevToken({ sub = 'demo', expiresIn = '12h', name, email, key }: DevTokenOptions = {}): Promise<string> {
  const jwk = key?.jwk ?? DEV_PRIVATE_JWK;
  const claims: Record<string, string> = {};
  if (name) claims.name = name;
  if (email) claims.email = email;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: jwk.alg ?? 'ES256', kid: jwk.kid, typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(key?.issuer ?? DEV_ISSUER)
    .setAudience(key?.audience ?? DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(await importJWK(jwk, jwk.alg ?? 'ES256'));
}
