import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';
import type { Admission, Refusal } from '../limits/index.js';
import type { PlainResponse } from '../transport/plainResponse.js';

export interface UseAdmissionOptions<ServerContext> {
  admission: Admission;
  /** Whom the request counts against: e.g. the verified token's `sub`, else the client's IP. */
  keyOf: (request: Request, serverContext: ServerContext) => string | Promise<string>;
}

/**
 * Load shedding and the per-client rate limit for every request yoga runs as GraphQL. The check
 * sits in `onRequestParse`, which yoga calls only for requests it serves as GraphQL — every URL
 * that ends with its endpoint (`/graphql`, `/graphql/`, `/x/graphql`…), SSE included — so no such
 * URL escapes it, and `/health`, `/ready` and `/metrics` are never counted. A refusal answers
 * before the body is read: 503 (shedding) or 429 (over the rate), `Retry-After`, `RATE_LIMITED`
 * in the GraphQL media type that Apollo Kotlin ≥ 4.1 parses on non-2xx responses.
 */
export function useAdmission<ServerContext extends Record<string, unknown>>({ admission, keyOf }: UseAdmissionOptions<ServerContext>): Plugin<Record<string, unknown>, ServerContext> {
  return {
    async onRequestParse({ request, serverContext, endResponse, fetchAPI }) {
      const refusal = await admission.admit(await keyOf(request, serverContext as ServerContext));
      if (!refusal) return;
      const response = refusalResponse(refusal);
      endResponse(new fetchAPI.Response(response.body, response));
    },
  };
}

/** The answer to a refused request (the plugin's and the by-hash lane's): before the body is read, in the media type Apollo Kotlin parses on non-2xx. */
export function refusalResponse(refusal: Refusal): PlainResponse {
  const body = { errors: [{ message: refusal.message, extensions: { code: ErrorCode.RateLimited, retryAfterSeconds: refusal.retryAfterSeconds } }] };
  return {
    status: refusal.status,
    headers: { 'content-type': 'application/graphql-response+json; charset=utf-8', 'retry-after': String(refusal.retryAfterSeconds), 'cache-control': 'private, no-store' },
    body: JSON.stringify(body),
  };
}
