import type { Plugin } from 'graphql-yoga';
import { etagOf, matchesEtag } from '../responseCache/index.js';
import type { CachePolicy } from '../persisted/index.js';
import { persistedOperationOf } from './usePersistedOperations.js';

const NOT_CACHEABLE = 'private, no-cache';

/**
 * The `Cache-Control` of a complete answer: `public, max-age=N` when no field is the viewer's,
 * `private, max-age=N` when one is and every field has a max age, `private, no-cache` otherwise
 * and whenever the answer has errors (a partial result must not outlive the outage).
 */
export function cacheControlOf({ maxAge, scope }: CachePolicy, hasErrors: boolean): string {
  if (hasErrors || maxAge <= 0) return NOT_CACHEABLE;
  return `${scope === 'PUBLIC' ? 'public' : 'private'}, max-age=${maxAge}`;
}

/** What a GET's cached answer varies with. */
export const CACHED_GET_VARY = 'Authorization, Accept, Accept-Encoding';
export { NOT_CACHEABLE };

// Whether the response carries an error, kept on the HTTP request's own server context (one per
// request, batch or not) between the result and the response.
const HAS_ERRORS = Symbol('response has errors');
// The age in seconds of a last good answer served for a service that is down (`extensions.stale`).
const STALE_AGE = Symbol('stale answer age');
type ServerContext = { params?: unknown; [HAS_ERRORS]?: true; [STALE_AGE]?: number };

/**
 * Every 200 of a persisted operation, GET or POST, carries a `Cache-Control` from the operation's
 * `@cacheControl` policy (Apollo Kotlin's normalized cache expires entries from it; URLCache and
 * OkHttp's cache keep GETs by it). A GET also carries an `ETag` (a hash of the body), and a
 * repeat with a matching `If-None-Match` answers 304 with no body, saving the phone the bytes.
 * A streamed answer (`@defer`) is `private, no-cache`: its later parts' errors are not known when
 * its headers go out.
 *
 * Caching never spreads a failure: an answer with any error (a service down, a refused input, a
 * partial result), a batch, free-form text, or a refusal of a GET is `private, no-cache` with no
 * `ETag`, so neither a CDN nor the phone keeps an outage. The operation is the one the request
 * carries (`context.params`: a batch has none of its own, so it is never shared).
 *
 * A last good answer served by the response cache for a service that is down (`extensions.stale`)
 * is `private, no-cache` with an `Age` header and no `ETag`: nothing may keep it as fresh.
 */
export function useHttpCaching(): Plugin {
  return {
    onResultProcess({ result, serverContext }) {
      if (Symbol.asyncIterator in (result as object)) return;
      const results = (Array.isArray(result) ? result : [result]) as { errors?: readonly unknown[]; extensions?: { stale?: { ageSeconds?: number } } }[];
      if (results.some((r) => r.errors?.length)) (serverContext as ServerContext)[HAS_ERRORS] = true;
      for (const r of results) {
        const age = r.extensions?.stale?.ageSeconds;
        if (typeof age === 'number') (serverContext as ServerContext)[STALE_AGE] = Math.max(age, (serverContext as ServerContext)[STALE_AGE] ?? 0);
      }
    },
    async onResponse({ request, response, serverContext, setResponse, fetchAPI }) {
      const context = serverContext as ServerContext;
      const type = response.headers.get('content-type') ?? '';
      if (response.status !== 200) {
        // Refusals (400, 401, 429…) over GET: whatever set them, nothing may keep them.
        if (request.method === 'GET' && type.includes('json') && !response.headers.has('cache-control')) {
          response.headers.set('cache-control', NOT_CACHEABLE);
          response.headers.delete('etag');
        }
        return;
      }
      const hasErrors = context[HAS_ERRORS] === true;
      const staleAge = context[STALE_AGE];
      if (staleAge !== undefined) {
        // The last good answer while a service is down: no cache may keep it as fresh.
        response.headers.set('cache-control', NOT_CACHEABLE);
        response.headers.set('age', String(staleAge));
        response.headers.delete('etag');
        return;
      }
      const operation = persistedOperationOf(context.params);
      if (!operation) {
        if ((hasErrors || request.method === 'GET') && !response.headers.has('cache-control')) response.headers.set('cache-control', NOT_CACHEABLE);
        return;
      }
      if (!type.includes('json')) {
        if (!response.headers.has('cache-control')) response.headers.set('cache-control', NOT_CACHEABLE);
        return;
      }
      const cacheControl = cacheControlOf(operation.cachePolicy, hasErrors);
      if (request.method !== 'GET') {
        response.headers.set('cache-control', cacheControl);
        return;
      }
      const body = new Uint8Array(await response.arrayBuffer());
      const headers = new fetchAPI.Headers(response.headers);
      // Copied headers can lose yoga's content type to later plugins' get() (compression then skipped the body).
      headers.set('content-type', type);
      headers.set('cache-control', cacheControl);
      if (hasErrors) {
        headers.delete('etag');
        setResponse(new fetchAPI.Response(body, { status: 200, headers }));
        return;
      }
      // The response cache stores the same bytes under the same ETag (src/bff/responseCache).
      const etag = etagOf(body);
      headers.set('etag', etag);
      headers.append('vary', CACHED_GET_VARY);
      const ifNoneMatch = request.headers.get('if-none-match');
      if (matchesEtag(ifNoneMatch, etag)) {
        headers.delete('content-type');
        headers.delete('content-length');
        setResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      setResponse(new fetchAPI.Response(body, { status: 200, headers }));
    },
  };
}
