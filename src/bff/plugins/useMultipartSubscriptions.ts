import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors/index.js';

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

const DELIMITER = '\r\n--graphql';
const PART_HEADERS = '\r\nContent-Type: application/json\r\n\r\n';
const HEARTBEAT = '{}';
const CLOSE = '--\r\n';

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

const part = (json: string) => `${PART_HEADERS}${json}${DELIMITER}`;

/**
 * Subscriptions over multipart HTTP, Apollo's protocol (`subscriptionSpec=1.0`), which Apollo
 * Kotlin, Apollo iOS and web Apollo Client use where WebSockets are blocked: a request whose
 * `Accept` lists `multipart/mixed;subscriptionSpec=1.0` and that runs a subscription is answered
 * `Content-Type: multipart/mixed;boundary="graphql";subscriptionSpec=1.0`, one part per event:
 *
 *     \r\n--graphql\r\nContent-Type: application/json\r\n\r\n{}\r\n--graphql
 *     \r\nContent-Type: application/json\r\n\r\n{"payload":{"data":…}}\r\n--graphql
 *     …--\r\n
 *
 * A heartbeat part `{}` goes out at once (so the client knows the subscription is set up) and
 * after every `heartbeatMs` without an event. Each part is followed by its delimiter at once:
 * clients hand a part over only when they see the next delimiter. A subscription that cannot
 * start (no viewer, a bad `since`) is one part `{"payload":{"errors":[…]}}` and the end; a stream
 * that fails, or whose credentials expire, ends with `{"payload":null,"errors":[…]}` (a fatal,
 * transport-level error in the protocol). Requests refused before they run (persisted-operation
 * rules) stay plain JSON errors with their 4xx, as on every transport. Nothing queues: the next
 * event is read when the client has taken the last one.
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
      const expiry = expiresAt(request).catch(() => undefined);
      setResultProcessor((processed, fetchAPI) => {
        const encoder = new fetchAPI.TextEncoder();
        const source = Symbol.asyncIterator in (processed as object) ? (processed as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]() : undefined;
        let pending: Promise<IteratorResult<ExecutionResult>> | undefined;
        let expired = false;
        let onExpiry: (() => void) | undefined;
        let expiryTimer: NodeJS.Timeout | undefined;
        void expiry.then((at) => {
          if (at === undefined || !source) return;
          expiryTimer = setTimeout(() => ((expired = true), onExpiry?.()), Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
          expiryTimer.unref();
        });
        const stop = () => {
          clearTimeout(expiryTimer);
          void source?.return?.()?.catch(() => {});
        };
        const fatal = (error: GraphQLError) => part(JSON.stringify({ payload: null, errors: clientResult({ errors: [error] }).errors }));
        const body = new fetchAPI.ReadableStream<Uint8Array>({
          start(controller) {
            if (!source) {
              controller.enqueue(encoder.encode(`${DELIMITER}${part(JSON.stringify({ payload: clientResult(processed as ExecutionResult) }))}${CLOSE}`));
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`${DELIMITER}${part(HEARTBEAT)}`));
          },
          async pull(controller) {
            if (!source) return;
            let timer: NodeJS.Timeout | undefined;
            pending ??= source.next();
            const next = await Promise.race([
              pending.then(
                (step) => ({ step }),
                (error: unknown) => ({ error }),
              ),
              new Promise<'heartbeat'>((resolve) => (timer = setTimeout(() => resolve('heartbeat'), heartbeatMs))),
              new Promise<'expired'>((resolve) => (expired ? resolve('expired') : (onExpiry = () => resolve('expired')))),
            ]);
            clearTimeout(timer);
            onExpiry = undefined;
            if (next === 'heartbeat') {
              controller.enqueue(encoder.encode(part(HEARTBEAT)));
              return;
            }
            if (next === 'expired') {
              const error = new GraphQLError('The token has expired: refresh it and subscribe again.', { extensions: { code: ErrorCode.Unauthenticated } });
              controller.enqueue(encoder.encode(`${fatal(error)}${CLOSE}`));
              controller.close();
              stop();
              return;
            }
            pending = undefined;
            if ('error' in next) {
              const masked = maskError ? maskError(next.error) : new GraphQLError('Unexpected error.', { extensions: { code: ErrorCode.InternalServerError } });
              controller.enqueue(encoder.encode(`${fatal(masked instanceof GraphQLError ? masked : new GraphQLError(masked.message))}${CLOSE}`));
              controller.close();
              stop();
              return;
            }
            if (next.step.done) {
              controller.enqueue(encoder.encode(CLOSE));
              controller.close();
              stop();
              return;
            }
            controller.enqueue(encoder.encode(part(JSON.stringify({ payload: clientResult(next.step.value) }))));
          },
          cancel() {
            stop();
          },
        });
        return new fetchAPI.Response(body, {
          status: 200,
          headers: { 'Content-Type': MULTIPART_SUBSCRIPTION_TYPE, 'Cache-Control': 'private, no-cache', Connection: 'keep-alive' },
        });
      }, MULTIPART_SUBSCRIPTION_TYPE);
    },
  };
}
