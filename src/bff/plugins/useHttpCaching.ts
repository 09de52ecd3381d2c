import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { persistedOperationOf } from './usePersistedOperations.js';

/**
 * GET by persisted id is cacheable HTTP: a 200 carries an `ETag` (a hash of the body) and a
 * `Cache-Control` from the operation's `@cacheControl` policy — `public, max-age=N` only when no
 * field is the viewer's, `private, no-cache` otherwise — and a repeat with a matching
 * `If-None-Match` answers 304 with no body, saving the phone the bytes.
 */
export function useHttpCaching(): Plugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      if (request.method !== 'GET' || response.status !== 200) return;
      const operation = persistedOperationOf.get(request);
      const type = response.headers.get('content-type') ?? '';
      if (!operation || !type.includes('json')) return;
      const body = new Uint8Array(await response.arrayBuffer());
      const etag = `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      const { maxAge, scope } = operation.cachePolicy;
      const headers = new fetchAPI.Headers(response.headers);
      // Copied headers can lose yoga's content type to later plugins' get() (compression then skipped the body).
      headers.set('content-type', type);
      headers.set('etag', etag);
      headers.set('cache-control', scope === 'PUBLIC' && maxAge > 0 ? `public, max-age=${maxAge}` : 'private, no-cache');
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
