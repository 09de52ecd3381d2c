import type { ScopedDownstream } from './createDownstreamClient.js';

/**
 * Identical reads in flight at the same time share one call (as Apollo Router's subgraph query
 * deduplication does): when one order change wakes thousands of subscribers, they make one feed
 * read and one batch call per resource between them, not one each.
 *
 * A read may only be joined by a caller that accepts an answer started before it asked. The
 * coalescer keeps a logical clock for that: `now()` marks a moment (a change notice arrived), and
 * `read(key, notBefore, …)` joins a read in flight only if it started after `notBefore`, so that
 * it sees every change committed before that moment. `notBefore: 0` joins any read in flight.
 */
export function createReadCoalescer() {
  let clock = 0;
  const inFlight = new Map<string, { startedAt: number; promise: Promise<unknown> }>();

  /** `start()`'s answer, or that of an identical read (`key`) in flight that started after `notBefore`. */
  function read<T>(key: string, notBefore: number, start: () => Promise<T>): Promise<T> {
    const current = inFlight.get(key);
    if (current && current.startedAt > notBefore) return current.promise as Promise<T>;
    const entry = { startedAt: ++clock, promise: start() };
    inFlight.set(key, entry);
    const settle = () => {
      if (inFlight.get(key) === entry) inFlight.delete(key);
    };
    entry.promise.then(settle, settle);
    return entry.promise;
  }

  return {
    /** A moment on the coalescer's clock: reads started later see what was committed before it. */
    now: () => ++clock,
    read,
    /**
     * `downstream` whose GETs join any identical GET in flight (`notBefore: 0`): for reads of an
     * entity's current state (batch loads), where an answer started a moment earlier is as good
     * as one's own. Never for a change feed read after a notice: that needs `read` with the
     * notice's moment.
     */
    sharing(downstream: ScopedDownstream): ScopedDownstream {
      return {
        call: (service, spec) =>
          (spec.method ?? 'GET') === 'GET' && spec.body === undefined ? read(`${service} ${spec.path} ${spec.expect?.join(',') ?? ''}`, 0, () => downstream.call(service, spec)) : downstream.call(service, spec),
      };
    },
    /** Reads in flight (for tests). */
    get size() {
      return inFlight.size;
    },
  };
}

export type ReadCoalescer = ReturnType<typeof createReadCoalescer>;
