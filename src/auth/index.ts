// Bearer tokens: verifying them (JWKS in production, the local key in development) and signing development ones.
export { createTokenVerifier, AuthError, AuthUnavailableError, type TokenVerifier, type VerifiedClaims } from './createTokenVerifier.js';
export { signDevToken } from './signDevToken.js';
export { cacheVerifiedTokens } from './cacheVerifiedTokens.js';
