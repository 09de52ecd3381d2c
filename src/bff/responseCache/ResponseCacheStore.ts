import type { Entity } from './entities.js';

/** A cached result: the serialized response and what is needed to serve it, keep it exact, or answer it stale. */
export interface CachedResult {
  /** The response body, `{"data":…}`, as sent. */
  body: string;
  /** The body's `ETag` (useHttpCaching's form). */
  etag: string;
  /** Epoch ms when the result was built. */
  builtAt: number;
  /** Epoch ms when it stops being fresh (its max age). */
  expiresAt: number;
  /** The services it was built from (named in a stale answer). */
  services: string[];
  /** The change feeds that back up its notices, with the position each stood at when it was built. */
  feeds: string[];
}

/** What a lookup finds under one key. */
export interface StoredResult {
  result: CachedResult;
  /** Still valid: not invalidated, not past its max age. A result that is not is kept only as the last good answer. */
  fresh: boolean;
}

export interface PutOptions {
  /** How long it is fresh (its max age), in ms. */
  freshMs: number;
  /** How long it is kept at all (the last good answer for stale-on-error), in ms; at least `freshMs`. */
  keepMs: number;
  entities: readonly Entity[];
}

/**
 * Where cached results live: in process (`createMemoryStore`) or in Redis (`createRedisStore`,
 * shared by every instance). Bounded by entries and bytes: the least recently stored go first.
 */
export interface ResponseCacheStore {
  get(key: string): Promise<StoredResult | undefined>;
  put(key: string, result: CachedResult, options: PutOptions): Promise<void>;
  /** Makes every fresh result holding one of `entities` stale; resolves with how many. */
  invalidate(entities: readonly Entity[]): Promise<number>;
  close(): Promise<void>;
}
