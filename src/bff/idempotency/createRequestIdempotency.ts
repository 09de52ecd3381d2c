import type { IdempotencyStore } from './createIdempotencyStore.js';

/** What one request's `@idempotent` fields share: the store, the header, and what happened, for the response. */
export interface RequestIdempotency {
  store: IdempotencyStore;
  /** The `Idempotency-Key` header as sent; `null` when absent. */
  headerKey: string | null;
  /** Response keys of the fields answered again from the store, in execution order. */
  replayed: string[];
  /** The logical request id of each field running under an acquired key, by response key. */
  requestIds: Map<string, string>;
  /** The HTTP status (and headers) of the strongest refusal so far; the response uses it only if it ends without data. */
  refusal: { status: number; headers?: Record<string, string> } | undefined;
  /** Records a refusal; the highest status wins, as yoga's own choice among errors does. */
  refuse(status: number, headers?: Record<string, string>): void;
}

export function createRequestIdempotency(store: IdempotencyStore, request: { headers: Pick<Headers, 'get'> }): RequestIdempotency {
  const state: RequestIdempotency = {
    store,
    headerKey: request.headers.get('idempotency-key'),
    replayed: [],
    requestIds: new Map(),
    refusal: undefined,
    refuse(status, headers) {
      if (!state.refusal || status > state.refusal.status) state.refusal = { status, ...(headers ? { headers } : {}) };
    },
  };
  return state;
}
