import type { TokenVerifier, VerifiedClaims } from './createTokenVerifier.js';

export interface CacheVerifiedTokensOptions {
  /** Tokens remembered at most; past it the oldest is forgotten first. @default 10000 */
  maxEntries?: number;
  /** Epoch ms now. @default Date.now */
  now?: () => number;
}

/**
 * Remembers the claims of tokens that verified, keyed by the token itself, until the token's
 * `exp`: a phone sends the same token with every request for its lifetime, and checking its
 * signature again each time (an ECDSA or RSA verification) gives the same answer. Only
 * successes are kept, never past `exp`, so the cache can refuse a token sooner than the verifier
 * (no clock tolerance) but never accept one it would refuse — except a token whose signing key
 * was withdrawn from the JWKS since, which stays accepted until its own `exp`.
 */
export function cacheVerifiedTokens(verifier: TokenVerifier, { maxEntries = 10_000, now = Date.now }: CacheVerifiedTokensOptions = {}): TokenVerifier {
  const verified = new Map<string, VerifiedClaims>();
  return {
    async verify(token) {
      const known = verified.get(token);
      if (known && known.exp * 1000 > now()) return known;
      if (known) verified.delete(token);
      const claims = await verifier.verify(token);
      if (claims.exp * 1000 > now()) {
        if (verified.size >= maxEntries) verified.delete(verified.keys().next().value!);
        verified.set(token, claims);
      }
      return claims;
    },
  };
}
