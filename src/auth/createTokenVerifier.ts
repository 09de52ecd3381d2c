import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { isStorableText } from '../util/storableText.js';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_PUBLIC_JWK } from './devKey.js';
import { profileClaims } from './profileClaims.js';

export interface VerifiedClaims {
  sub: string;
  /** Seconds since the epoch. */
  exp: number;
  name?: string;
  email?: string;
}

/** Why a token was refused; `message` is safe to show to the client. */
export class AuthError extends Error {
  override name = 'AuthError';
}

/**
 * The identity provider could not be asked (its JWKS unreachable, slow or broken): not the
 * token's fault, so the client must keep its session and retry, not refresh or sign out.
 */
export class AuthUnavailableError extends Error {
  override name = 'AuthUnavailableError';
}

export interface TokenVerifier {
  /** Resolves the token's claims, or rejects with an `AuthError` (a bad token) or an `AuthUnavailableError` (the identity provider cannot be reached). */
  verify(token: string): Promise<VerifiedClaims>;
}

/** Asymmetric algorithms only: `none` and HMAC are never accepted. */
const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_S = 60;

export interface TokenVerifierOptions {
  /** Production identity provider; unset: the local development key. */
  auth: { jwksUrl: string; issuer: string; audience: string } | undefined;
}

/**
 * Verifies bearer JWTs: signature against the JWKS (cached; refetched at most every 30 s when a
 * token names an unknown `kid`), issuer, audience, `exp` and `sub` required, ≤ 60 s clock skew.
 */
export function createTokenVerifier({ auth }: TokenVerifierOptions): TokenVerifier {
  const keys: JWTVerifyGetKey = auth
    ? createRemoteJWKSet(new URL(auth.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 })
    : createLocalJWKSet({ keys: [DEV_PUBLIC_JWK] });
  const issuer = auth?.issuer ?? DEV_ISSUER;
  const audience = auth?.audience ?? DEV_AUDIENCE;

  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer,
          audience,
          algorithms: ASYMMETRIC,
          clockTolerance: CLOCK_TOLERANCE_S,
          requiredClaims: ['exp', 'sub'],
        });
        // The subject becomes a key in every service's database: one they could not store is no user.
        if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 255 || !isStorableText(payload.sub)) {
          throw new AuthError('The token has no usable "sub" claim.');
        }
        return {
          sub: payload.sub,
          exp: payload.exp!,
          ...profileClaims(payload),
        };
      } catch (error) {
        if (error instanceof AuthError) throw error;
        if (error instanceof errors.JWTExpired) throw new AuthError('The token has expired.');
        // The key set could not be had: a timeout, a refused connection (fetch's TypeError, not a
        // JOSEError), an answer other than 200, or one that is no key set (jose's generic JOSEError).
        if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError) || error.code === 'ERR_JOSE_GENERIC') {
          throw new AuthUnavailableError('The identity provider cannot be reached.', { cause: error });
        }
        throw new AuthError('The token is not valid.');
      }
    },
  };
}
