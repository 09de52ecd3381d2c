import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';
import type { PlainResponse } from '../transport/plainResponse.js';

const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name', 'graphql-preflight'];
/** The content types a browser may send cross-site without a CORS preflight. */
const SIMPLE_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];

/**
 * Apollo's CSRF rule (as Apollo Server and the router apply it): a GraphQL GET must carry something
 * a browser cannot send cross-site without a CORS preflight — the header `Apollo-Require-Preflight`
 * (Apollo Kotlin and Apollo iOS send it with every GET), `X-Apollo-Operation-Name` or
 * `GraphQL-Preflight`, or a `Content-Type` that is not one of the CORS-safelisted ones (web Apollo
 * Client sends `content-type: application/json` with its GETs, and no preflight header). POSTs are
 * already protected: only JSON and GraphQL content types are accepted (useErrorCodes), and those are
 * not CORS-safelisted. Loading GraphiQL (a browser asking for HTML) is not an operation and stays allowed.
 *
 * Checked in `onRequestParse`, as yoga's own CSRF plugin does: yoga calls it for every request it
 * serves as GraphQL, whatever the URL (`/graphql/`, `/x/graphql`…), and for nothing else.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequestParse({ request, url, endResponse, fetchAPI }) {
      const refusal = csrfRefusal(request.method, url.search !== '', request.headers);
      if (refusal) endResponse(new fetchAPI.Response(refusal.body, refusal));
    },
  };
}

const CSRF_REFUSAL: PlainResponse = {
  status: 400,
  headers: { 'content-type': 'application/graphql-response+json; charset=utf-8', 'cache-control': 'private, no-cache, must-revalidate' },
  body: JSON.stringify({
    errors: [
      {
        message:
          'A GET request must carry the header "Apollo-Require-Preflight: true" (or "X-Apollo-Operation-Name", or a Content-Type such as application/json), so that a browser cannot send it from another site.',
        extensions: { code: ErrorCode.BadUserInput },
      },
    ],
  }),
};

/**
 * The rule itself, for the plugin and the by-hash lane (src/bff/transport/createByHashLane.ts):
 * the refusal a request gets, or `undefined` when it passes. `hasQueryString`: the URL has a `?…`.
 */
export function csrfRefusal(method: string, hasQueryString: boolean, headers: Pick<Headers, 'get' | 'has'>): PlainResponse | undefined {
  if (method !== 'GET') return undefined;
  if (!hasQueryString && (headers.get('accept') ?? '').includes('text/html')) return undefined;
  if (PREFLIGHT_HEADERS.some((h) => headers.has(h))) return undefined;
  const contentType = headers.get('content-type')?.split(';')[0]!.trim().toLowerCase();
  if (contentType && !SIMPLE_CONTENT_TYPES.includes(contentType)) return undefined;
  return CSRF_REFUSAL;
}
