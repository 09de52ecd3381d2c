import CircuitBreaker from 'opossum';
import type { Metrics } from '../metrics/createMetrics.js';
import { DownstreamResponseError, DownstreamUnavailableError } from './DownstreamErrors.js';

export interface CircuitBreakerOptions {
  /** The breaker opens when more than this share of the calls in the window failed. @default 50 */
  errorPercent?: number;
  /** Calls in the window before the error share is judged at all. @default 10 */
  minRequests?: number;
  /** The rolling window the error share is computed over, in ms. @default 10000 */
  windowMs?: number;
  /** How long an open breaker fails fast before it lets one probe through (half-open), in ms. @default 10000 */
  resetMs?: number;
}

type State = 'closed' | 'half_open' | 'open';
const STATES: readonly State[] = ['closed', 'half_open', 'open'];

/**
 * Whether a failed call says something about the service's health. A 4xx it answered is the
 * caller's problem, and a deadline cut short by the request's own budget says nothing either.
 */
function countsAsFailure(error: unknown): boolean {
  if (error instanceof DownstreamUnavailableError) return error.details.countsAsFailure !== false;
  if (error instanceof DownstreamResponseError) return error.status === 0 || error.status >= 500;
  return true;
}

/** A call that ended without the service having answered or failed: the request's budget ran out first. */
const isNoVerdict = (error: unknown) => error instanceof DownstreamUnavailableError && error.details.countsAsFailure === false;

/**
 * One circuit breaker (opossum) per downstream service. `run(service, attempt)` runs one attempt
 * through the service's breaker: while the breaker is open it fails at once with a
 * `DownstreamUnavailableError` and the service sees no request; after `resetMs` one attempt goes
 * through, and its outcome closes or re-opens the breaker. State changes and rejections are
 * metrics (`bff_circuit_breaker_state`, `bff_circuit_breaker_rejections_total`).
 */
export function createCircuitBreakers<S extends string>(
  services: readonly S[],
  { errorPercent = 50, minRequests = 10, windowMs = 10_000, resetMs = 10_000 }: CircuitBreakerOptions,
  metrics: Metrics,
) {
  const setState = (service: S, current: State) => {
    for (const state of STATES) metrics.breakerState.set({ service, state }, state === current ? 1 : 0);
  };
  const breakers = new Map<S, CircuitBreaker<[() => Promise<unknown>], unknown>>();
  for (const service of services) {
    const breaker: CircuitBreaker<[() => Promise<unknown>], unknown> = new CircuitBreaker((attempt: () => Promise<unknown>) => attempt(), {
      name: service,
      // Deadlines are the client's: an attempt that outlives them has already failed there.
      timeout: false,
      errorThresholdPercentage: errorPercent,
      volumeThreshold: minRequests,
      rollingCountTimeout: windowMs,
      rollingCountBuckets: 10,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      resetTimeout: resetMs,
      // A filtered error counts as a success, and a success closes a half-open breaker. A probe cut
      // short by its request's own budget says nothing about the service, so it must not close
      // it: counted as a failure then, it re-opens the breaker until the next probe.
      errorFilter: (error: unknown) => !countsAsFailure(error) && !(breaker.halfOpen && isNoVerdict(error)),
    });
    breaker.on('open', () => setState(service, 'open'));
    breaker.on('halfOpen', () => setState(service, 'half_open'));
    breaker.on('close', () => setState(service, 'closed'));
    breaker.on('reject', () => metrics.breakerRejections.inc({ service }));
    setState(service, 'closed');
    breakers.set(service, breaker);
  }

  return {
    async run<T>(service: S, attempt: () => Promise<T>): Promise<T> {
      const breaker = breakers.get(service)!;
      try {
        return (await breaker.fire(attempt)) as T;
      } catch (error) {
        if ((error as { code?: string }).code === 'EOPENBREAKER') {
          throw new DownstreamUnavailableError(service, 'circuit breaker open: recent calls failed', { retryable: false, countsAsFailure: false });
        }
        throw error;
      }
    },
    /** The breaker's state, for logs and tests of the system. */
    state(service: S): State {
      const breaker = breakers.get(service)!;
      return breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed';
    },
    /** Stops the breakers' timers. */
    shutdown() {
      for (const breaker of breakers.values()) breaker.shutdown();
    },
  };
}

export type CircuitBreakers<S extends string> = ReturnType<typeof createCircuitBreakers<S>>;
