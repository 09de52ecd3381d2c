import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientResult, clientStream, ErrorCode } from '../errors/index.js';

// No form or multipart types: those are CORS "simple" requests a hostile page could send cross-site.
const GRAPHQL_CONTENT_TYPES = ['application/json', 'application/graphql-response+json', 'application/graphql'];

/**
 * Gives every error in a response an `extensions.code` from design.md §9, including yoga's own
 * request errors, and answers a POST with an unsupported content type with a GraphQL error body
 * (yoga's bare 415 has none). The content type is checked in `onRequestParse`, which yoga calls for
 * every request it serves as GraphQL, whatever the URL.
 */
export function useErrorCodes(): Plugin {
  return {
    onRequestParse({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (GRAPHQL_CONTENT_TYPES.includes(type)) return;
      const body = { errors: [{ message: `Content-Type must be application/json, got ${JSON.stringify(type || '(none)')}.`, extensions: { code: ErrorCode.BadUserInput } }] };
      endResponse(new fetchAPI.Response(JSON.stringify(body), { status: 415, headers: { 'content-type': 'application/json; charset=utf-8' } }));
    },
    onResultProcess({ result, setResult }) {
      // A stream (SSE, incremental delivery): every event through the same funnel.
      if (Symbol.asyncIterator in (result as object)) return setResult(clientStream(result as AsyncIterable<ExecutionResult>) as typeof result);
      setResult((Array.isArray(result) ? result.map((r) => clientResult(r)) : clientResult(result as ExecutionResult)) as typeof result);
    },
  };
}
