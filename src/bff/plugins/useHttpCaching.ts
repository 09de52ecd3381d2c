import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { persistedOperationOf } from './usePersistedOperations.js';

/** What a response that must not be stored by anyone (a failure, or the viewer's data) says. */
const NOT_SHARED = 'private, no-cache';

/** Whether a GraphQL response body reports an error (a partial failure included). */
function hasErrors(body: Uint8Array): boolean {
  try {
    const parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as { errors?: unknown[] } | unknown[];
    return Array.isArray(parsed) ? parsed.some((r) => (r as { errors?: unknown[] })?.errors?.length) : Boolean(parsed?.errors?.length);
  } catch {
    return true;
  }
}

/**
 * GET by persisted id is cacheable HTTP: a 200 carries an `ETag` (a hash of the body) and a
 * `Cache-Control` from the operation's `@cacheControl` policy — `public, max-age=N` only when no
 * field is the viewer's, `private, no-cache` otherwise — and a repeat with a matching
 * `If-None-Match` answers 304 with no body, saving the phone the bytes.
 *
 * Caching never spreads a failure: a GraphQL GET whose answer carries any error (a service
 * down, a refused input, a partial result) is `private, no-cache` with no `ETag`, so neither a
 * CDN nor the phone keeps an outage. The operation is the one the GET carries (`context.params`;
 * a GET is never a batch).
 */
export function useHttpCaching(): Plugin {
  return {
    async onResponse({ request, response, serverContext, setResponse, fetchAPI }) {
      if (request.method !== 'GET') return;
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('json')) return;
      if (response.status !== 200) {
        // Refusals (400, 401, 429…): whatever set them, nothing may keep them.
        if (!response.headers.get('cache-control')) {
          const headers = new fetchAPI.Headers(response.headers);
          headers.set('cache-control', NOT_SHARED);
          headers.delete('etag');
          setResponse(new fetchAPI.Response(response.body, { status: response.status, statusText: response.statusText, headers }));
        }
        return;
      }
      const operation = persistedOperationOf((serverContext as { params?: unknown }).params);
      const body = new Uint8Array(await response.arrayBuffer());
      const headers = new fetchAPI.Headers(response.headers);
      // Copied headers can lose yoga's content type to later plugins' get() (compression then skipped the body).
      headers.set('content-type', type);
      if (!operation || hasErrors(body)) {
        headers.set('cache-control', NOT_SHARED);
        headers.delete('etag');
        setResponse(new fetchAPI.Response(body, { status: 200, headers }));
        return;
      }
      const etag = `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      const { maxAge, scope } = operation.cachePolicy;
      headers.set('etag', etag);
      headers.set('cache-control', scope === 'PUBLIC' && maxAge > 0 ? `public, max-age=${maxAge}` : NOT_SHARED);
      headers.append('vary', 'Authorization, Accept, Accept-Encoding');
      const ifNoneMatch = request.headers.get('if-none-match');
      if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
        headers.delete('content-type');
        headers.delete('content-length');
        setResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      setResponse(new fetchAPI.Response(body, { status: 200, headers }));
    },
  };
}
