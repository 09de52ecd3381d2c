import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';
import { multipartResponse } from '../transport/multipartResponse.js';

export interface UseMultipartSubscriptionsOptions {
  /** Time between heartbeat parts (`{}`) while no event is sent; Apollo's protocol says 5 s. @default 5000 */
  heartbeatMs?: number;
  /** When the request's credentials expire (ms since the epoch), or `undefined`: the stream ends then. */
  expiresAt?: (request: Request) => Promise<number | undefined>;
  /** Turns an error thrown by a stream into what the client may see (the same masking as every other error). */
  maskError?: (error: unknown) => Error;
}

/** The response's media type: Apollo's clients pick their parser from `boundary` and `subscriptionSpec=1.0` (unquoted). */
export const MULTIPART_SUBSCRIPTION_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0';


/** True when `Accept` lists `multipart/mixed` with `subscriptionSpec=1.0` (quoted or not), as Apollo's clients send it. */
export function acceptsMultipartSubscription(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    return type === 'multipart/mixed' && params.some((p) => p.replace(/\s/g, '').replace(/"/g, '') === 'subscriptionspec=1.0');
  });
}

/** True when `Accept` also lists a JSON type a plain GraphQL response can go as. */
const acceptsJson = (accept: string | null) =>
  (accept ?? '*/*').split(',').some((range) => ['application/json', 'application/graphql-response+json', 'application/*', '*/*'].includes(range.split(';')[0]!.trim().toLowerCase()));

/** A result as the client may see it: errors as their JSON, without yoga's transport-only extensions (HTTP status and headers). */
function clientResult(result: ExecutionResult): ExecutionResult | Record<string, unknown> {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error) => {
    const json = error instanceof GraphQLError ? error.toJSON() : (error as GraphQLError);
    const { http: _http, ...extensions } = json.extensions ?? {};
    return Object.keys(extensions).length ? { ...json, extensions } : { ...json, extensions: undefined };
  });
  return { ...result, errors };
}

const done = { done: true, value: undefined } as const;

/**
 * The parts of one subscription: a heartbeat at once, then `{"payload":…}` per event, a heartbeat
 * after every `heartbeatMs` without one, and `{"payload":null,"errors":[…]}` to end a stream that
 * failed or whose credentials expired. `return()` (the client went away) stops the stream at once,
 * even while it waits for an event.
 */
function subscriptionParts(source: AsyncIterator<ExecutionResult>, { heartbeatMs, expiry, maskError }: { heartbeatMs: number; expiry: Promise<number | undefined>; maskError?: (error: unknown) => Error }): AsyncIterableIterator<unknown> {
  let started = false;
  let finished = false;
  let pending: Promise<{ step: IteratorResult<ExecutionResult> } | { error: unknown }> | undefined;
  let expired = false;
  let wake: ((reason: 'expired' | 'stopped') => void) | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  void expiry.then((at) => {
    if (at === undefined || finished) return;
    expiryTimer = setTimeout(() => ((expired = true), wake?.('expired')), Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
    expiryTimer.unref();
  });
  const finish = () => {
    finished = true;
    clearTimeout(expiryTimer);
    void source.return?.()?.catch(() => {});
  };
  const fatal = (error: GraphQLError) => ({ payload: null, errors: clientResult({ errors: [error] }).errors });
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return done;
      if (!started) {
        started = true;
        return { done: false, value: {} };
      }
      let timer: NodeJS.Timeout | undefined;
      pending ??= source.next().then(
        (step) => ({ step }),
        (error: unknown) => ({ error }),
      );
      const next = await Promise.race([
        pending,
        new Promise<'heartbeat'>((resolve) => (timer = setTimeout(() => resolve('heartbeat'), heartbeatMs))),
        new Promise<'expired' | 'stopped'>((resolve) => (expired ? resolve('expired') : (wake = resolve))),
      ]);
      clearTimeout(timer);
      wake = undefined;
      if (finished || next === 'stopped') return done;
      if (next === 'heartbeat') return { done: false, value: {} };
      if (next === 'expired') {
        finish();
        return { done: false, value: fatal(new GraphQLError('The token has expired: refresh it and subscribe again from the last sync token.', { extensions: { code: ErrorCode.Unauthenticated } })) };
      }
      pending = undefined;
      if ('error' in next) {
        finish();
        const masked = maskError ? maskError(next.error) : new GraphQLError('Unexpected error.', { extensions: { code: ErrorCode.InternalServerError } });
        return { done: false, value: fatal(masked instanceof GraphQLError ? masked : new GraphQLError(masked.message)) };
      }
      if (next.step.done) {
        finish();
        return done;
      }
      // Credentials that ended (an expiry elsewhere in the pipeline ends the stream with one such
      // result) are fatal to the subscription, whoever noticed first.
      const { data, errors } = next.step.value;
      if (data == null && errors?.some((e) => (e as GraphQLError).extensions?.code === ErrorCode.Unauthenticated)) {
        finish();
        return { done: false, value: { payload: null, errors: clientResult({ errors }).errors } };
      }
      return { done: false, value: { payload: clientResult(next.step.value) } };
    },
    async return() {
      finish();
      wake?.('stopped');
      return done;
    },
  };
}

/**
 * Subscriptions over multipart HTTP, Apollo's protocol (`subscriptionSpec=1.0`), which Apollo
 * Kotlin, Apollo iOS and web Apollo Client use where WebSockets are blocked: a request whose
 * `Accept` lists `multipart/mixed;subscriptionSpec=1.0` and that runs a subscription is answered
 * `Content-Type: multipart/mixed;boundary="graphql";subscriptionSpec=1.0`, framed as
 * `multipartResponse` frames every multipart answer, one part per event:
 *
 *     \r\n--graphql\r\nContent-Type: application/json\r\n\r\n{}\r\n--graphql
 *     \r\nContent-Type: application/json\r\n\r\n{"payload":{"data":…}}\r\n--graphql
 *     …--
 *
 * A heartbeat part `{}` goes out at once (so the client knows the subscription is set up) and
 * after every `heartbeatMs` without an event. A subscription that cannot start (no viewer, a bad
 * `since`) is one part `{"payload":{"errors":[…]}}` and the end; a stream that fails, or whose
 * credentials expire, ends with `{"payload":null,"errors":[…]}` (a fatal, transport-level error in
 * the protocol). Requests refused before they run (persisted-operation rules) stay plain JSON
 * errors with their 4xx, as on every transport. Nothing queues: the next event is read when the
 * client has taken the last one.
 */
export function useMultipartSubscriptions({ heartbeatMs = 5_000, expiresAt = async () => undefined, maskError }: UseMultipartSubscriptionsOptions = {}): Plugin {
  const subscriptions = new WeakSet<Request>();
  return {
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request) subscriptions.add(request);
    },
    onResultProcess({ request, result, setResultProcessor }) {
      const accept = request.headers.get('accept');
      if (!acceptsMultipartSubscription(accept)) return;
      if (!subscriptions.has(request) && acceptsJson(accept)) return;
      setResultProcessor((processed, fetchAPI) => {
        const parts = isAsyncIterable(processed)
          ? subscriptionParts((processed as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator](), { heartbeatMs, expiry: expiresAt(request).catch(() => undefined), maskError })
          : [{ payload: clientResult(processed as ExecutionResult) }];
        return multipartResponse(toAsyncIterable(parts), { spec: 'subscriptionSpec=1.0', headers: { 'Cache-Control': 'private, no-cache', Vary: 'Accept, Authorization' }, fetchAPI });
      }, MULTIPART_SUBSCRIPTION_TYPE);
    },
  };
}

async function* fromArray(values: unknown[]) {
  yield* values;
}
const toAsyncIterable = (parts: AsyncIterable<unknown> | unknown[]) => (Array.isArray(parts) ? fromArray(parts) : parts);
