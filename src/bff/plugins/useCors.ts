import type { Plugin } from 'graphql-yoga';

export interface UseCorsOptions {
  /** Exact origins (`https://app.example.com`) allowed to read answers, or `'*'` for any origin but `null`. */
  origins: readonly string[] | '*';
  /** How long a browser may keep a preflight's answer, in seconds. @default 600 */
  maxAgeSeconds?: number;
}

/** What Apollo's web clients and our own headers need in a cross-origin request. */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'apollographql-client-name',
  'apollographql-client-version',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'idempotency-key',
  'x-request-id',
  'if-none-match',
].join(', ');
const EXPOSED_HEADERS = 'x-request-id, retry-after, etag';

/**
 * CORS for the web apps that `origins` lists, in place of yoga's default, which answers any
 * `Origin` — `null` (sandboxed frames, `file:` pages) included — with itself and
 * `Access-Control-Allow-Credentials: true`. Here an origin is allowed only when listed (or any
 * but `null` with `'*'`), never with credentials: the BFF reads bearer tokens, not cookies, so
 * nothing needs them. Every answer says `Vary: Origin`, so a cache never hands one origin's
 * headers to another. A preflight (`OPTIONS`) is answered 204 at once; an origin not allowed gets
 * no CORS headers, and the browser keeps the page from reading the answer.
 */
export function useCors({ origins, maxAgeSeconds = 600 }: UseCorsOptions): Plugin {
  const allowed = corsAllows(origins);
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'OPTIONS') return;
      const origin = request.headers.get('origin');
      const headers: Record<string, string> = { 'content-length': '0', vary: 'Origin' };
      if (allowed(origin)) {
        Object.assign(headers, {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': String(maxAgeSeconds),
        });
      }
      endResponse(new fetchAPI.Response(null, { status: 204, headers }));
    },
    onResponse({ request, response }) {
      addCorsHeaders(response.headers, request.headers.get('origin'), allowed);
    },
  };
}

/** The CORS headers of an answer (the plugin's, and the by-hash lane's): `Vary: Origin`, and for an allowed origin, the origin and the headers it may read. */
export function addCorsHeaders(headers: Pick<Headers, 'append' | 'set'>, origin: string | null, allowed: (origin: string | null) => origin is string): void {
  headers.append('vary', 'Origin');
  if (!allowed(origin)) return;
  headers.set('access-control-allow-origin', origin);
  headers.set('access-control-expose-headers', EXPOSED_HEADERS);
}

/** Whether an `Origin` may read answers, per `origins` (see `useCors`). */
export const corsAllows =
  (origins: readonly string[] | '*') =>
  (origin: string | null): origin is string =>
    !!origin && origin !== 'null' && (origins === '*' || origins.includes(origin));
