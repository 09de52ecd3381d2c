import { GraphQLError, type ExecutionResult } from 'graphql';
import { ErrorCode } from './ErrorCode.js';

// The one funnel of errors to clients (design.md §9). Every result a client can see passes
// through it — an HTTP response, each result of a batch, each event of a stream over SSE or
// WebSocket, a refusal of a socket operation: first yoga's `maskError` (`maskError` in
// clientError.ts, which masks and logs the unexpected once), then `clientResult` /
// `clientStream` here, which give every error a code from §9 and the HTTP status of a failed request.


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


const UNEXPECTED = 'Unexpected error.';

/** The error for something that went wrong without an error to show (masked, `INTERNAL_SERVER_ERROR`). */
export const unexpectedError = () => new GraphQLError(UNEXPECTED, { extensions: { code: ErrorCode.InternalServerError } });

/**
 * A result with every error given its §9 code. `requestFailed` (default: the result has no data)
 * also gives request errors their HTTP status (400). A result without errors is returned as it
 * is, its `data` not read: a response cache hit's `data` is its stored body parsed on first read
 * (usePersistedResponseCache.ts), which a hit answered as those bytes never needs.
 */
export function clientResult<R extends { errors?: readonly unknown[]; data?: unknown }>(result: R, requestFailed?: boolean): R {
  if (!result.errors?.length) return result;
  const failed = requestFailed ?? result.data == null;
  return { ...result, errors: result.errors.map((e) => withCode(e, failed)) };
}

/**
 * A stream of results (a subscription, over SSE or WebSocket) whose every event passes
 * `clientResult`. Ending it (`return`) ends the source at once, as the client unsubscribing must.
 */
export function clientStream<R extends { errors?: readonly unknown[]; data?: unknown }>(stream: AsyncIterable<R>): AsyncIterableIterator<R> {
  const source = stream[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const step = await source.next();
      return step.done ? step : { done: false, value: clientResult(step.value, false) };
    },
    return: (value?: unknown) => (source.return ? source.return(value) : Promise.resolve({ done: true as const, value: value as R })),
    throw: (error?: unknown) => (source.throw ? source.throw(error) : Promise.reject(error)),
  };
}
