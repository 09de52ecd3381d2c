import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
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
const TIMEOUT_ERRORS = new Set(['TimeoutError', 'AbortError', 'HeadersTimeoutError', 'BodyTimeoutError']);
/** An attempt with less time than this left is not started: it could not succeed. */
const MIN_ATTEMPT_MS = 10;
/** undici checks its header and body timeouts every half second: a deadline this short or shorter gets a timer of its own. */
const FAST_TIMER_RESOLUTION_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Abort reasons: the request's budget is spent; a call's own (precise) deadline passed. */
const BUDGET_SPENT = new Error('the request budget is spent');
const CALL_DEADLINE = new Error('the call deadline passed');

/**
 * The abort signal of a request's budget, in the form undici also takes: an EventEmitter with
 * `aborted` and `reason` (adding and removing a listener per call costs a fraction of what an
 * `AbortSignal`'s EventTarget does).
 */
class BudgetSignal extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  constructor() {
    super();
    // One listener per call in flight: a request may have many.
    this.setMaxListeners(0);
  }
  abort() {
    this.aborted = true;
    this.reason = BUDGET_SPENT;
    this.emit('abort');
  }
}

/** The deadline of one attempt: `ms` from its start; `precise` when it needs a timer of its own; the request's budget signal. */
interface CallDeadline {
  ms: number;
  precise: boolean;
  budget: BudgetSignal | undefined;
}

/**
 * JSON over keep-alive HTTP (undici) to the downstream services, with what keeps one slow or
 * failing service from taking the BFF down with it:
 * - a deadline on every attempt: the service's timeout, capped by what is left of the request's
 *   budget (`forRequest({ deadline })`), so a request answers within its budget however many
 *   calls it makes. Cheaply: the service's timeout is undici's own header and body timeout (its
 *   timer wheel, no timer of ours), and one signal per request, aborted when its budget is spent,
 *   bounds every call; only a call the budget cuts short, or a sub-second service timeout, gets a
 *   timer of its own (undici's wheel ticks every half second);
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
  const observe = (service: S, route: string, status: string, seconds: number) => {
    metrics.downstreamDuration.observe({ service, route }, seconds);
    metrics.downstreamRequests.inc({ service, route, status });
  };

  /**
   * One HTTP request within `deadline`. Throws `DownstreamUnavailableError` (with `retryable`) or `DownstreamResponseError`.
   * `budget`: the request's signal, aborted when its budget runs out (`undefined`: no budget).
   */
  async function attempt<T>(service: S, { method = 'GET', path, route, body, expect = [200] }: DownstreamCall, deadline: CallDeadline, scope: DownstreamScope): Promise<DownstreamResponse<T>> {
    const started = performance.now();
    let status = 'error';
    // A sub-second deadline, or one the budget cuts shorter, needs a precise timer: undici's own
    // header and body timeouts tick every half second.
    let timer: NodeJS.Timeout | undefined;
    let signal: BudgetSignal | AbortSignal | undefined = deadline.budget;
    if (deadline.precise) {
      const controller = new AbortController();
      timer = setTimeout(() => controller.abort(CALL_DEADLINE), deadline.ms);
      signal = controller.signal;
    }
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (scope.requestId) headers['x-request-id'] = scope.requestId;
      const response = await request(urls[service] + path, {
        dispatcher: agent,
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // The service's deadline, as undici's own timers (no timer of ours per call): the answer's
        // headers, then each chunk of its body, within it.
        headersTimeout: timeouts[service],
        bodyTimeout: timeouts[service],
        ...(signal ? { signal } : {}),
      });
      status = String(response.statusCode);
      const text = await response.body.text();
      afterCall?.({ service, route, status: response.statusCode });
      if (UNAVAILABLE_STATUSES.has(response.statusCode)) {
        throw new DownstreamUnavailableError(service, `HTTP ${response.statusCode}`, { retryable: true, retryAfterMs: parseRetryAfter(response.headers['retry-after']) });
      }
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      if (!expect.includes(response.statusCode)) throw new DownstreamResponseError(service, route, response.statusCode, parsed);
      return { status: response.statusCode, body: parsed as T };
    } catch (error) {
      if (error instanceof DownstreamUnavailableError || error instanceof DownstreamResponseError) throw error;
      if (error instanceof SyntaxError) throw new DownstreamResponseError(service, route, Number(status) || 0, 'invalid JSON');
      if (error === BUDGET_SPENT || (signal?.aborted && signal.reason === BUDGET_SPENT)) {
        status = 'timeout';
        // Cut short by the request's budget rather than the service's own deadline: no verdict on the service.
        throw new DownstreamUnavailableError(service, `no answer within the request's budget`, { countsAsFailure: false });
      }
      if (error === CALL_DEADLINE || TIMEOUT_ERRORS.has((error as { name?: string }).name ?? '')) {
        status = 'timeout';
        throw new DownstreamUnavailableError(service, `no answer within ${deadline.ms} ms`, { countsAsFailure: deadline.ms >= timeouts[service] });
      }
      throw new DownstreamUnavailableError(service, (error as Error).message || 'request failed', { retryable: true });
    } finally {
      clearTimeout(timer);
      observe(service, route, status, (performance.now() - started) / 1000);
    }
  }

  async function call<T>(service: S, spec: DownstreamCall, scope: DownstreamScope = {}, budget?: () => BudgetSignal): Promise<DownstreamResponse<T>> {
    const attempts = (spec.method ?? 'GET') === 'GET' ? retries + 1 : 1;
    const deadline = scope.deadline ?? Infinity;
    for (let n = 0; ; n++) {
      const left = deadline - Date.now();
      if (left < MIN_ATTEMPT_MS) {
        throw new DownstreamUnavailableError(service, 'the request ran out of time before this call', { countsAsFailure: false });
      }
      const own = timeouts[service];
      const ms = Math.min(own, left);
      // The budget's one signal bounds every call of the request (a body trickling in chunks
      // included); a call the budget cuts shorter than its own deadline, or a sub-second
      // deadline, gets a precise timer of its own.
      const callDeadline: CallDeadline = { ms, precise: ms < own || own <= FAST_TIMER_RESOLUTION_MS, budget: Number.isFinite(deadline) ? budget?.() : undefined };
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
      // One deadline per request: a signal aborted when its budget is spent, made at its first
      // call; the timer is unref'd and ends with the budget.
      let signal: BudgetSignal | undefined;
      const budget = () => {
        if (!signal) {
          const spent = (signal = new BudgetSignal());
          const left = (scope.deadline ?? Infinity) - Date.now();
          if (left <= 0) spent.abort();
          else setTimeout(() => spent.abort(), Math.min(left, MAX_TIMER_MS)).unref();
        }
        return signal;
      };
      return { call: (service, spec) => call(service, spec, scope, budget) };
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
