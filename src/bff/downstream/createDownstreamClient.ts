import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, type Dispatcher } from 'undici';
import type { ServiceName } from '../../services/downstreamServices.js';
import type { Metrics } from '../metrics/createMetrics.js';
import { backoffDelay } from './backoffDelay.js';
import { createCircuitBreakers, type CircuitBreakerOptions } from './createCircuitBreakers.js';
import { DownstreamResponseError, DownstreamUnavailableError } from './DownstreamErrors.js';
import { parseRetryAfter } from './parseRetryAfter.js';

export type { ServiceName };

export interface DownstreamCall {
  /** Only a `GET` is retried. @default 'GET' */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/products?ids=a,b`. */
  path: string;
  /** A low-cardinality name for metrics, e.g. `GET /products?ids`. */
  route: string;
  body?: unknown;
  /** Statuses the caller handles itself; any other (but 429/502/503/504) is a `DownstreamResponseError`. @default [200] */
  expect?: readonly number[];
}

export interface DownstreamResponse<T> {
  status: number;
  body: T;
}

/** What ties the calls of one GraphQL request together. */
export interface DownstreamScope {
  /** Sent as `x-request-id`, so one request can be followed through every service's logs. */
  requestId?: string;
  /** Epoch ms after which no call of the request may run: its budget. Caps every call's deadline. */
  deadline?: number;
}

/**
 * `S`: the services it calls, by default those of the registry (src/services/downstreamServices.ts);
 * each gets its base URL, deadline, circuit breaker and `service` metric label from `urls`.
 */
export interface DownstreamClientOptions<S extends string = ServiceName> {
  /** Base URL of each service: the services this client calls. */
  urls: Record<S, string>;
  /** Deadline of one call (one attempt), in ms: for every service, or per service. */
  timeoutMs: number | Record<S, number>;
  /** Retries of an idempotent read (GET) after a refused or dropped connection, 429 or 502/503/504. Never for writes. @default 2 */
  retries?: number;
  /** Backoff of the first retry: a random delay up to this, doubling per retry. @default 50 */
  retryBaseDelayMs?: number;
  /** Longest backoff between retries (a `Retry-After` may ask for more, within the deadline). @default 1000 */
  retryMaxDelayMs?: number;
  /** The circuit breaker of each service. */
  breaker?: CircuitBreakerOptions;
  metrics: Metrics;
  /** Called after each call the service answered (any status), before the caller sees the answer; for test hooks. @default none */
  afterCall?: (call: { service: S; route: string; status: number }) => void;
}

const UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504]);
/** undici's own header and body timeouts (a deadline of ours ends a call with `CALL_DEADLINE`). */
const TIMEOUT_ERRORS = new Set(['HeadersTimeoutError', 'BodyTimeoutError']);
/** An attempt with less time than this left is not started: it could not succeed. */
const MIN_ATTEMPT_MS = 10;
/** undici checks its header and body timeouts every half second: a deadline this short or shorter gets a timer of its own. */
const FAST_TIMER_RESOLUTION_MS = 1000;
/** How often the calls left to undici's timeouts are checked for a body trickling past their deadline. */
const SWEEP_INTERVAL_MS = 250;
/** Abort reason: a call's deadline passed. */
const CALL_DEADLINE = new Error('the call deadline passed');

/** A call in flight left to undici's timeouts: when its deadline passes, and how to end it. */
interface Watched {
  endAt: number;
  stop: (reason: Error) => void;
}

/**
 * A service's whole answer as it comes off the socket: its status, the body's chunks (decoded
 * and parsed by `parseChunks`) and, for the statuses that mean "unavailable", its `Retry-After`.
 *
 * The body is decoded and parsed in the caller's continuation, not in undici's completion
 * callback (which runs inside its llhttp parser, called from WebAssembly): measured on the
 * orders screen (issue 15, V8's sampling heap profiler keeping only objects that outlived a
 * scavenge), whatever was made in that callback — the 25 KB text, or the parsed tree when it was
 * parsed there — was promoted to the old generation (~20–25 KB per request, ~2× the promotion
 * and the scavenging time of a server parsing in the continuation), and what is made in the
 * continuation dies young. The raw header buffers are not kept either.
 */
interface Exchange {
  statusCode: number;
  chunks: Buffer[];
  retryAfter: string | undefined;
}

/** The body of an answer that is not JSON. */
const INVALID_JSON: unique symbol = Symbol('invalid JSON');

/** The value of header `name` (lower case) in undici's raw headers, or undefined. */
function headerOf(rawHeaders: Buffer[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toString('latin1').toLowerCase() === name) return rawHeaders[i + 1]!.toString('latin1');
  }
  return undefined;
}

/** The body's chunks decoded and parsed, `undefined` when empty, `INVALID_JSON` when not JSON. */
function parseChunks(chunks: Buffer[]): unknown {
  if (chunks.length === 0) return undefined;
  const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return INVALID_JSON;
  }
}

/** The deadline of one attempt: `ms` from its start; `precise` when it needs a timer of its own. */
interface CallDeadline {
  ms: number;
  precise: boolean;
}

/**
 * JSON over keep-alive HTTP (undici) to the downstream services, with what keeps one slow or
 * failing service from taking the BFF down with it:
 * - a deadline on every attempt: the service's timeout, capped by what is left of the request's
 *   budget (`forRequest({ deadline })`), so a request answers within its budget however many
 *   calls it makes. Cheaply: the service's timeout is undici's own header and body timeout (its
 *   timer wheel, no timer of ours), and one sweep every 250 ms of the calls in flight ends a body
 *   trickling past its deadline; only a call the budget cuts short (or that would end within a
 *   second of the budget), or a sub-second service timeout, gets a timer of its own (undici's
 *   wheel ticks every half second);
 * - retries of idempotent reads only (GET: never a write, never a 4xx such as 409/422), with
 *   jittered exponential backoff, honouring `Retry-After` only when the deadline leaves room
 *   for it; not after a timeout (a slow service is not helped by more requests);
 * - a circuit breaker per service, through which every attempt goes.
 *
 * Unreachable, timed out, 429/502/503/504 or breaker open → `DownstreamUnavailableError` (the
 * client sees `DOWNSTREAM_UNAVAILABLE` on the fields that service feeds); an unexpected status →
 * `DownstreamResponseError` (masked).
 */
export function createDownstreamClient<S extends string = ServiceName>({ urls, timeoutMs, retries = 2, retryBaseDelayMs = 50, retryMaxDelayMs = 1000, breaker = {}, metrics, afterCall }: DownstreamClientOptions<S>) {
  const services = Object.keys(urls) as S[];
  const timeouts: Record<S, number> = typeof timeoutMs === 'number' ? (Object.fromEntries(services.map((service) => [service, timeoutMs])) as Record<S, number>) : timeoutMs;
  const longest = Math.max(...services.map((service) => timeouts[service]));
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 64, headersTimeout: longest, bodyTimeout: longest });
  const breakers = createCircuitBreakers(services, breaker, metrics);
  // The calls in flight whose deadline is undici's header/body timeout: a body can trickle in
  // chunks, each within the body timeout, past the call's deadline; a sweep ends those.
  const inFlight = new Set<Watched>();
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const call of inFlight) {
      if (now >= call.endAt) {
        inFlight.delete(call);
        call.stop(CALL_DEADLINE);
      }
    }
    if (inFlight.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  const watch = (call: Watched) => {
    inFlight.add(call);
    if (!sweeper) (sweeper = setInterval(sweep, SWEEP_INTERVAL_MS)).unref();
  };
  const origins = Object.fromEntries(services.map((service) => [service, new URL(urls[service]).origin])) as Record<S, string>;
  const basePaths = Object.fromEntries(services.map((service) => [service, new URL(urls[service]).pathname.replace(/\/$/, '')])) as Record<S, string>;
  const observe = (service: S, route: string, status: string, seconds: number) => {
    metrics.downstreamDuration.observe({ service, route }, seconds);
    metrics.downstreamRequests.inc({ service, route, status });
  };

  /**
   * One HTTP request within `deadline`. Throws `DownstreamUnavailableError` (with `retryable`) or `DownstreamResponseError`.
   */
  async function attempt<T>(service: S, { method = 'GET', path, route, body, expect = [200] }: DownstreamCall, deadline: CallDeadline, scope: DownstreamScope): Promise<DownstreamResponse<T>> {
    const started = performance.now();
    let status = 'error';
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (scope.requestId) headers['x-request-id'] = scope.requestId;
    try {
      const response = await exchange(origins[service], method, basePaths[service] + path, headers, body === undefined ? undefined : JSON.stringify(body), timeouts[service], deadline);
      status = String(response.statusCode);
      afterCall?.({ service, route, status: response.statusCode });
      if (UNAVAILABLE_STATUSES.has(response.statusCode)) {
        throw new DownstreamUnavailableError(service, `HTTP ${response.statusCode}`, { retryable: true, retryAfterMs: parseRetryAfter(response.retryAfter) });
      }
      const parsed = parseChunks(response.chunks);
      if (parsed === INVALID_JSON) throw new DownstreamResponseError(service, route, response.statusCode, 'invalid JSON');
      if (!expect.includes(response.statusCode)) throw new DownstreamResponseError(service, route, response.statusCode, parsed);
      return { status: response.statusCode, body: parsed as T };
    } catch (error) {
      if (error instanceof DownstreamUnavailableError || error instanceof DownstreamResponseError) throw error;
      if (error === CALL_DEADLINE || TIMEOUT_ERRORS.has((error as { name?: string }).name ?? '')) {
        status = 'timeout';
        throw new DownstreamUnavailableError(service, `no answer within ${deadline.ms} ms`, { countsAsFailure: deadline.ms >= timeouts[service] });
      }
      throw new DownstreamUnavailableError(service, (error as Error).message || 'request failed', { retryable: true });
    } finally {
      observe(service, route, status, (performance.now() - started) / 1000);
    }
  }

  /**
   * One request and its whole answer, on undici's `dispatch` (what its `request` is built on),
   * without the readable stream, header object and abort plumbing `request` makes for every
   * answer: the body's chunks are kept, then decoded and parsed once at the end (see `Exchange`). The service's timeout is
   * undici's own header and body timeout, and the sweep of calls in flight ends a body that
   * trickles past the deadline; a precise deadline is a timer of its own.
   */
  function exchange(origin: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, timeout: number, deadline: CallDeadline): Promise<Exchange> {
    return new Promise<Exchange>((resolve, reject) => {
      let abort: ((reason: Error) => void) | undefined;
      let reason: Error | undefined;
      let timer: NodeJS.Timeout | undefined;
      const stop = (why: Error) => {
        reason ??= why;
        if (abort) abort(why);
      };
      // A sub-second deadline, or one near the end of the request's budget, needs a precise
      // timer: undici's own header and body timeouts tick every half second.
      const watched: Watched | undefined = deadline.precise ? undefined : { endAt: performance.now() + deadline.ms, stop };
      if (watched) watch(watched);
      else timer = setTimeout(() => stop(CALL_DEADLINE), deadline.ms);
      const done = () => {
        if (timer) clearTimeout(timer);
        if (watched) inFlight.delete(watched);
      };
      let statusCode = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      agent.dispatch(
        { origin, path, method, headers, body: body ?? null, headersTimeout: timeout, bodyTimeout: timeout },
        {
          onConnect(abortRequest: (reason: Error) => void) {
            abort = abortRequest;
            if (reason) abortRequest(reason);
          },
          onHeaders(code: number, raw: Buffer[]) {
            // 1xx informational answers come before the real one.
            if (code >= 200) {
              statusCode = code;
              if (UNAVAILABLE_STATUSES.has(code)) retryAfter = headerOf(raw, 'retry-after');
            }
            return true;
          },
          onData(chunk: Buffer) {
            chunks.push(chunk);
            return true;
          },
          onComplete() {
            done();
            resolve({ statusCode, chunks, retryAfter });
          },
          onError(error: Error) {
            done();
            reject(reason ?? error);
          },
        } as unknown as Dispatcher.DispatchHandler,
      );
    });
  }

  async function call<T>(service: S, spec: DownstreamCall, scope: DownstreamScope = {}): Promise<DownstreamResponse<T>> {
    const attempts = (spec.method ?? 'GET') === 'GET' ? retries + 1 : 1;
    const deadline = scope.deadline ?? Infinity;
    for (let n = 0; ; n++) {
      const left = deadline - Date.now();
      if (left < MIN_ATTEMPT_MS) {
        throw new DownstreamUnavailableError(service, 'the request ran out of time before this call', { countsAsFailure: false });
      }
      const own = timeouts[service];
      const ms = Math.min(own, left);
      // undici's timeouts (and the sweep, for a trickling body) bound a call that ends at least a
      // timer tick before the budget does; a call the budget cuts short, one that would end within
      // a tick of it, and a sub-second deadline get a precise timer of their own.
      const callDeadline: CallDeadline = { ms, precise: ms < own || own <= FAST_TIMER_RESOLUTION_MS || left - ms < FAST_TIMER_RESOLUTION_MS };
      try {
        return await breakers.run(service, () => attempt<T>(service, spec, callDeadline, scope));
      } catch (error) {
        if (!(error instanceof DownstreamUnavailableError) || !error.details.retryable || n + 1 >= attempts) throw error;
        const delay = backoffDelay({ attempt: n, baseMs: retryBaseDelayMs, maxMs: retryMaxDelayMs, retryAfterMs: error.details.retryAfterMs });
        // A Retry-After (or backoff) past the deadline: fail now rather than wait for nothing.
        if (Date.now() + delay + MIN_ATTEMPT_MS > deadline) throw error;
        metrics.downstreamRetries.inc({ service, route: spec.route, reason: /^HTTP (\d+)$/.exec(error.reason)?.[1] ?? 'connection' });
        await sleep(delay);
      }
    }
  }

  return {
    /** One call, retried and broken per this client's policy; with `scope`, within its budget and tagged with its request id. */
    call,
    /** The calls of one GraphQL request: its request id on every call, its budget capping every deadline. */
    forRequest(scope: DownstreamScope): ScopedDownstream<S> {
      return { call: (service, spec) => call(service, spec, scope) };
    },
    /** The state of a service's circuit breaker. */
    breakerState: (service: S) => breakers.state(service),
    async close() {
      breakers.shutdown();
      await agent.close();
    },
  };
}

/** What resolvers and loaders get: calls bound to their request's id and budget. */
export interface ScopedDownstream<S extends string = ServiceName> {
  call<T>(service: S, spec: DownstreamCall): Promise<DownstreamResponse<T>>;
}

export type DownstreamClient<S extends string = ServiceName> = ReturnType<typeof createDownstreamClient<S>>;
