import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { acceptsDefer } from '../transport/acceptsDefer.js';
import { multipartResponse } from '../transport/multipartResponse.js';
import { withCode } from '../errors/index.js';

/** One deferred fragment's result, as graphql-tools' executor yields it (the 2022-08-24 format). */
interface IncrementalItem {
  data?: Record<string, unknown> | null;
  path?: readonly (string | number)[];
  label?: string;
  errors?: readonly unknown[];
  extensions?: Record<string, unknown>;
}
interface ExecutionPart {
  data?: unknown;
  errors?: readonly unknown[];
  extensions?: Record<string, unknown>;
  incremental?: readonly IncrementalItem[];
  hasNext?: boolean;
}

export interface UseIncrementalDeliveryOptions {
  /**
   * The server's error masking, applied to the errors of deferred parts: yoga masks a streamed
   * result's top-level `errors` only, and a deferred fragment's are inside `incremental`.
   */
  maskError: (error: unknown) => unknown;
}

/** An error as a client sees it: JSON, with its code, without the HTTP status that is ours. */
function clientJson(error: unknown): unknown {
  const coded = withCode(error, false);
  if (!(coded instanceof GraphQLError)) return coded;
  const { http: _http, ...extensions } = coded.extensions ?? {};
  return { ...coded.toJSON(), extensions };
}

/**
 * The parts of an incremental result in the format both Apollo Kotlin and Apollo iOS accept: the
 * first is `{"data","errors"?,"hasNext":true}` with no `incremental` (Kotlin takes the first part as
 * the whole initial payload and would drop one); then `{"incremental":[{"data","path","label"?,"errors"?}],"hasNext"}`.
 * A bare `{"hasNext":false}`, which Apollo iOS rejects, becomes `{"incremental":[],"hasNext":false}`
 * (the executor yields one only when the last deferred fragments vanished under a nulled parent).
 */
async function* apolloParts(results: AsyncIterable<ExecutionPart>): AsyncGenerator<unknown> {
  let first = true;
  for await (const result of results) {
    const errors = result.errors?.length ? { errors: result.errors.map(clientJson) } : {};
    const extensions = result.extensions && Object.keys(result.extensions).length ? { extensions: result.extensions } : {};
    if (first) {
      first = false;
      yield { data: result.data ?? null, ...errors, ...extensions, hasNext: result.hasNext ?? false };
      continue;
    }
    const incremental = (result.incremental ?? []).map((item) => ({
      data: item.data ?? null,
      path: item.path ?? [],
      ...(item.label !== undefined ? { label: item.label } : {}),
      ...(item.errors?.length ? { errors: item.errors.map(clientJson) } : {}),
      ...(item.extensions ? { extensions: item.extensions } : {}),
    }));
    yield { incremental, ...errors, ...extensions, hasNext: result.hasNext ?? false };
  }
}

/**
 * `@defer` over HTTP as Apollo's clients speak it: a query whose execution is incremental answers
 * `multipart/mixed;boundary="graphql";deferSpec=20220824` (see `multipartResponse`) when the client
 * accepts `multipart/mixed`, with the errors of each deferred part masked and coded like any other.
 * Streamed answers are `Cache-Control: private, no-cache` (their later parts' errors are not known
 * when the headers go out). Subscriptions are not this plugin's.
 */
export function useIncrementalDelivery({ maskError }: UseIncrementalDeliveryOptions): Plugin {
  const incremental = new WeakSet<Request>();
  const masked = (errors: readonly unknown[]) => errors.map((error) => maskError(error));
  return {
    // Text documents meet the rules manifests meet at start (deferValidationRules).
    onValidate: useDeferStream().onValidate,
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) return;
          if (request) incremental.add(request);
          return {
            onNext({ result: part, setResult }) {
              const items = (part as ExecutionPart).incremental;
              if (!items?.some((item) => item.errors?.length)) return;
              setResult({ ...part, incremental: items.map((item) => (item.errors?.length ? { ...item, errors: masked(item.errors) } : item)) } as typeof part);
            },
          };
        },
      };
    },
    onResultProcess({ request, result, setResultProcessor }) {
      if (!incremental.has(request) || !isAsyncIterable(result) || !acceptsDefer(request.headers.get('accept'))) return;
      setResultProcessor(
        (streamed, fetchAPI) =>
          multipartResponse(apolloParts(streamed as AsyncIterable<ExecutionPart>), {
            spec: 'deferSpec=20220824',
            headers: { 'Cache-Control': 'private, no-cache', Vary: 'Accept, Authorization' },
            fetchAPI,
          }),
        'multipart/mixed',
      );
    },
  };
}
