import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';

type Result = { errors?: readonly unknown[] };

function codeFor(error: GraphQLError): ErrorCode {
  const status = (error.extensions?.http as { status?: number } | undefined)?.status;
  if (status === 401) return ErrorCode.Unauthenticated;
  if (status === 403) return ErrorCode.Forbidden;
  if (status === 429) return ErrorCode.RateLimited;
  if (status !== undefined && status >= 500) return ErrorCode.InternalServerError;
  // Errors without a code here are yoga's and graphql-js's request errors: bad JSON, a wrong
  // content type, a syntax error, a validation error, a bad variable. All are the client's input.
  return ErrorCode.BadUserInput;
}

const KNOWN_CODES: ReadonlySet<unknown> = new Set(Object.values(ErrorCode));

/**
 * Yoga's and graphql-js's own codes (BAD_REQUEST, GRAPHQL_VALIDATION_FAILED…) are replaced by
 * ours, and their `originalError` (a parser's message, a stack) never reaches the client. A
 * request error in a response without data (unparseable JSON, a syntax or validation error, a
 * bad variable) answers 400 whatever the Accept header: yoga's `spec` flag would keep 200 for
 * `application/json`, which hides from a client that its request can never succeed.
 */
export function withCode(error: unknown, requestFailed: boolean): unknown {
  if (!(error instanceof GraphQLError)) return error;
  const known = KNOWN_CODES.has(error.extensions?.code);
  const http = error.extensions?.http as { status?: number; headers?: Record<string, string>; spec?: boolean } | undefined;
  const needsStatus = requestFailed && !error.path && (!http?.status || http.spec);
  if (known && !needsStatus) return error;
  const { originalError: _originalError, code: _code, http: _http, ...extensions } = error.extensions ?? {};
  const status = needsStatus ? (http?.status && http.status >= 400 ? http.status : 400) : http?.status;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: {
      ...extensions,
      code: known ? error.extensions.code : codeFor(error),
      ...(status ? { http: { status, ...(http?.headers ? { headers: http.headers } : {}) } } : {}),
    },
  });
}

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
      if (Symbol.asyncIterator in (result as object)) return;
      const fix = (r: Result & { data?: unknown }) => (r.errors?.length ? { ...r, errors: r.errors.map((e) => withCode(e, r.data == null)) } : r);
      setResult((Array.isArray(result) ? result.map(fix) : fix(result as Result)) as typeof result);
    },
  };
}
