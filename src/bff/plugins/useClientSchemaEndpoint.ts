import { readFile } from 'node:fs/promises';
import type { Plugin } from 'graphql-yoga';

export interface UseClientSchemaEndpointOptions {
  /** The client schema file (`schema/client/schema.graphqls`, written by `npm run schema:export`). */
  path: string;
  /** @default '/schema.graphqls' */
  endpoint?: string;
}

/**
 * Serves the client schema (SDL with Apollo's `@semanticNonNull` and `@typePolicy` links) for client
 * code generators during development, e.g. Apollo Kotlin's `introspection { endpointUrl }` or a
 * plain download. Read at each request: `npm run schema:export` needs no restart.
 */
export function useClientSchemaEndpoint({ path, endpoint = '/schema.graphqls' }: UseClientSchemaEndpointOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint || request.method !== 'GET') return;
      endResponse(new fetchAPI.Response(await readFile(path, 'utf8'), { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' } }));
    },
  };
}
