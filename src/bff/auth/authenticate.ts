import { AuthError, AuthUnavailableError, type TokenVerifier } from '../../auth/index.js';
import type { Viewer } from '../context.js';
import { clientError, ErrorCode } from '../errors/index.js';

/** `Retry-After` while the identity provider cannot be reached (jose fetches the key set again on the next request). */
const IDP_RETRY_AFTER_S = 5;

const BEARER = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i;

/**
 * The viewer of a request from its `Authorization` header. No header: anonymous (`null`).
 * A header that is not a valid bearer token: the whole request is refused with 401
 * `UNAUTHENTICATED` (RFC 6750 `invalid_token`), so the client refreshes its token rather than
 * silently getting anonymous data. When the identity provider cannot be reached, the token is
 * not at fault: 503 `AUTH_UNAVAILABLE` with `Retry-After` and no `invalid_token` challenge, so
 * the app keeps its session and retries instead of refreshing and signing the user out.
 */
export async function authenticate(verifier: TokenVerifier, authorization: string | null | undefined): Promise<Viewer> {
  if (!authorization) return null;
  const match = BEARER.exec(authorization);
  const refuse = (message: string) =>
    clientError(ErrorCode.Unauthenticated, message, { status: 401, headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message}"` } });
  if (!match) throw refuse('The Authorization header must be "Bearer <token>".');
  try {
    return await verifier.verify(match[1]!);
  } catch (error) {
    if (error instanceof AuthUnavailableError) {
      throw clientError(ErrorCode.AuthUnavailable, `The identity provider cannot be reached: retry after ${IDP_RETRY_AFTER_S} s with the same token.`, {
        status: 503,
        headers: { 'Retry-After': String(IDP_RETRY_AFTER_S) },
        retryAfterSeconds: IDP_RETRY_AFTER_S,
      });
    }
    throw refuse(error instanceof AuthError ? error.message : 'The token is not valid.');
  }
}
