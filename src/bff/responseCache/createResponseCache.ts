import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus } from '../../bus/index.js';
import type { Metrics } from '../metrics/createMetrics.js';
import type { CachePolicy } from '../persisted/index.js';
import { entitiesOfNotice, feedOf, type Entity, type FeedName } from './entities.js';
import type { Dependencies } from './recordDependencies.js';
import type { CachedResult, ResponseCacheStore, StoredResult } from './ResponseCacheStore.js';

/** One page of a change feed, as the cache reads it: the entities changed after `since`, and where the feed stands. */
export interface FeedPage {
  entities: Entity[];
  next: string;
  hasMore: boolean;
}

/** A change feed the cache checks its entries against: `read(undefined)` reads only the head. */
export interface FeedReader {
  service: string;
  read(since: string | undefined): Promise<FeedPage>;
}

/** Thrown by a `FeedReader` when `since` is older than the feed keeps (410 `SINCE_EXPIRED`). */
export class FeedPositionExpired extends Error {
  override name = 'FeedPositionExpired';
}

export interface ResponseCacheOptions {
  store: ResponseCacheStore;
  /** Change notices: each evicts the entries holding what changed, on every instance. */
  bus: Bus;
  /** The change feeds backing the notices up. */
  feeds: Partial<Record<FeedName, FeedReader>>;
  /** An entry is served only if the feeds it depends on were read at most this long ago (else they are read first). */
  feedCheckMs: number;
  /** How long a result is kept as the last good answer for stale-on-error. */
  staleMaxMs: number;
  /** Life of an entry whose operation says `maxAge: 0` (revalidate every time) and whose data is all announced. */
  revalidatedTtlMs: number;
  /** Whether a service is known to be unavailable now (its circuit breaker is open). */
  unavailable?: (service: string) => boolean;
  metrics: Metrics;
  logger: Logger;
  now?: () => number;
}

/** What a request asks for: the persisted operation, its variables, and who asks. */
export interface CacheRequest {
  operationId: string;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
  /** The verified token's subject; `null` for an anonymous request. */
  viewer: string | null;
  policy: CachePolicy;
}

/** What to answer with a result from the cache. */
export interface CacheAnswer {
  body: string;
  etag: string;
  /** The result's age in seconds. */
  ageSeconds: number;
  /** Set when it is the last good answer served because these services are unavailable. */
  stale?: { services: string[] };
}

/** A miss, to hand back to `store` (after a good execution) or `staleAnswer` (after a failed one). */
export interface CacheMiss {
  readonly request: CacheRequest;
  readonly keys: { shared: string; personal: string };
  readonly startedAt: number;
  readonly startSeq: number;
  /** The last good result under this request's key, if one is kept. */
  readonly lastGood: CachedResult | undefined;
}

export type CacheLookup = { kind: 'hit'; answer: CacheAnswer } | { kind: 'miss'; miss: CacheMiss };

/** The `ETag` of a body: the first 27 characters of its SHA-256, base64url, weak. */
export function etagOf(body: string | Uint8Array): string {
  return `W/"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Whether an `If-None-Match` header names `etag`. */
export function matchesEtag(ifNoneMatch: string | null | undefined, etag: string): boolean {
  return !!ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
}

const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value && typeof value === 'object'
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
        )
      : value;

/** Every entry that depends on a service's notices also holds this entity: to drop them all when notices may have been lost. */
const ALL_OF = (service: string): Entity => `All:${service}`;
const SERVICE_OF_FEED: Record<FeedName, string> = { products: 'catalog', orders: 'orders' };

/** Requests running longer than this store nothing (the eviction log is kept this long). */
const MAX_BUILD_MS = 60_000;

function createFeedChecker(name: FeedName, reader: FeedReader, intervalMs: number, invalidate: (entities: Entity[], reason: 'feed') => Promise<void>, now: () => number, logger: Logger) {
  let position: string | undefined;
  let anchoredAt = Number.POSITIVE_INFINITY;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let running: Promise<void> | undefined;
  async function run() {
    const startedAt = now();
    if (position === undefined) {
      position = (await reader.read(undefined)).next;
      anchoredAt = checkedAt = startedAt;
      return;
    }
    const changed = new Set<Entity>();
    let since = position;
    try {
      for (;;) {
        const page = await reader.read(since);
        for (const entity of page.entities) changed.add(entity);
        since = page.next;
        if (!page.hasMore) break;
      }
    } catch (error) {
      if (!(error instanceof FeedPositionExpired)) throw error;
      // Behind the purged tombstones: what changed is unknown, so everything the feed covers goes.
      logger.warn({ feed: name }, 'response cache: feed position expired; dropping every entry the feed covers');
      position = undefined;
      anchoredAt = Number.POSITIVE_INFINITY;
      await invalidate([ALL_OF(SERVICE_OF_FEED[name])], 'feed');
      return run();
    }
    if (changed.size) await invalidate([...changed], 'feed');
    position = since;
    checkedAt = startedAt;
  }
  return {
    service: reader.service,
    due: () => now() - checkedAt >= intervalMs,
    /** The feed's position was known before `time`: every change after it will be seen. */
    anchoredBefore: (time: number) => anchoredAt <= time,
    check(): Promise<void> {
      running ??= run().finally(() => (running = undefined));
      return running;
    },
    forceDue() {
      checkedAt = Number.NEGATIVE_INFINITY;
    },
  };
}

/** `baseOf`'s memory: parameters up to this many characters, at most this many of them. */
const MAX_REMEMBERED_PARAMETERS = 1024;
const MAX_REMEMBERED_KEYS = 4096;

/**
 * The response cache's core, independent of any transport: `lookup` before executing, `store`
 * after a good result, `staleAnswer` after one that failed because a service is down.
 *
 * - Keys: the persisted operation, its variables, and — for a result that turned out personal
 *   (viewer data, `PRIVATE` policy, a read of the users or orders service, or a resolver that read
 *   the viewer) — the viewer. A shared result is stored once for everyone; a personal one only
 *   under its viewer's key, so no one is ever served another's.
 * - Exact invalidation: every entry holds the entities its execution read (recordDependencies);
 *   a change notice for any of them makes it stale, on every instance (each hears the bus).
 * - The feeds are the truth: an entry depending on a feed is served only if that feed was read
 *   at most `feedCheckMs` ago (a lookup reads it first otherwise, one read shared by all), and a
 *   change found there evicts as a notice would. A lost notice therefore outlives its change by
 *   at most `feedCheckMs` plus one feed read. A result whose build overlapped an eviction of what
 *   it holds is not stored.
 * - `@cacheControl(maxAge)` bounds every entry; `maxAge: 0` (the phone revalidates every time)
 *   is kept `revalidatedTtlMs` when all it holds is announced, else not at all.
 * - Stale on error: a result is kept `staleMaxMs` after it was built, as the last good answer.
 */
export function createResponseCache({ store, bus, feeds, feedCheckMs, staleMaxMs, revalidatedTtlMs, unavailable = () => false, metrics, logger, now = Date.now }: ResponseCacheOptions) {
  let seq = 0;
  /** The last eviction of each entity (its sequence number and time), to refuse a result built across it. */
  const evicted = new Map<Entity, { seq: number; at: number }>();
  let allEvictedSeq = 0;

  async function invalidate(entities: Entity[], reason: 'notice' | 'feed') {
    const at = now();
    seq++;
    for (const entity of entities) {
      evicted.delete(entity);
      evicted.set(entity, { seq, at });
    }
    // Oldest first (re-inserted on each eviction): drop what no running build can overlap.
    for (const [entity, last] of evicted) {
      if (at - last.at < MAX_BUILD_MS) break;
      evicted.delete(entity);
    }
    try {
      const count = await store.invalidate(entities);
      if (count) metrics.responseCacheInvalidations.inc({ reason }, count);
    } catch (error) {
      logger.warn({ err: error }, 'response cache: invalidation failed');
    }
  }

  const checkers = Object.fromEntries(
    (Object.entries(feeds) as [FeedName, FeedReader][]).map(([name, reader]) => [name, createFeedChecker(name, reader, feedCheckMs, invalidate, now, logger)]),
  ) as Partial<Record<FeedName, ReturnType<typeof createFeedChecker>>>;

  const unsubscribe = (['products', 'orders', 'users'] as const).map((topic) => bus.subscribe(topic, (message) => void invalidate(entitiesOfNotice(message), 'notice')));
  const stopMissed = bus.onMissedMessages(() => {
    // The feeds tell what was missed at the next lookup; users have no feed: their entries go.
    allEvictedSeq = ++seq;
    for (const checker of Object.values(checkers)) checker!.forceDue();
    void invalidate([ALL_OF('users')], 'notice');
  });

  /**
   * Each request's hashed base key, by its parameters as sent (`JSON.stringify`, key order and
   * all; the hash is of their canonical form): a screen's requests repeat, and the hash was ~5% of
   * a cache hit's CPU (issue 15). Small parameters only, emptied when full, so that no client can
   * grow it.
   */
  const bases = new Map<string, string>();
  function baseOf(request: CacheRequest): string {
    const sent = JSON.stringify([request.operationId, request.operationName ?? null, request.variables ?? null]);
    let base = sent.length <= MAX_REMEMBERED_PARAMETERS ? bases.get(sent) : undefined;
    if (base !== undefined) return base;
    base = createHash('sha256')
      .update(JSON.stringify([request.operationId, request.operationName ?? null, canonical(request.variables ?? {})]))
      .digest('base64url')
      .slice(0, 32);
    if (sent.length <= MAX_REMEMBERED_PARAMETERS) {
      if (bases.size >= MAX_REMEMBERED_KEYS) bases.clear();
      bases.set(sent, base);
    }
    return base;
  }

  function keysOf(request: CacheRequest) {
    const base = baseOf(request);
    return { shared: `${base}:*`, personal: `${base}:${request.viewer === null ? '-' : `@${encodeURIComponent(request.viewer)}`}` };
  }

  const answerOf = (result: CachedResult, stale?: string[]): CacheAnswer => ({
    body: result.body,
    etag: result.etag,
    ageSeconds: Math.max(0, Math.floor((now() - result.builtAt) / 1000)),
    ...(stale ? { stale: { services: stale } } : {}),
  });

  async function read(keys: string[]): Promise<{ key: string; found: StoredResult } | undefined> {
    for (const key of keys) {
      try {
        const found = await store.get(key);
        if (found) return { key, found };
      } catch (error) {
        logger.warn({ err: error }, 'response cache: lookup failed; executing');
        return undefined;
      }
    }
    return undefined;
  }

  return {
    /** Reads the heads of the change feeds, so that results built from now on can be stored. */
    async start() {
      await Promise.all(
        Object.entries(checkers).map(([name, checker]) =>
          checker!.check().catch((error: unknown) => logger.warn({ err: error, feed: name }, 'response cache: cannot read the feed head yet; retried at the next lookup')),
        ),
      );
    },

    async lookup(request: CacheRequest): Promise<CacheLookup> {
      const keys = keysOf(request);
      const startedAt = now();
      const startSeq = seq;
      const candidates = request.policy.scope === 'PRIVATE' ? [keys.personal] : [keys.shared, keys.personal];
      let found = await read(candidates);
      const miss = (lastGood?: CachedResult): CacheLookup => {
        metrics.responseCacheLookups.inc({ result: 'miss' });
        return { kind: 'miss', miss: { request, keys, startedAt, startSeq, lastGood } };
      };
      if (!found) return miss();
      if (!found.found.fresh) {
        if (now() >= found.found.result.expiresAt) metrics.responseCacheInvalidations.inc({ reason: 'ttl' });
        return miss(found.found.result);
      }
      const due = found.found.result.feeds.map((feed) => checkers[feed as FeedName]).filter((checker) => checker?.due());
      if (due.length) {
        const down: string[] = [];
        await Promise.all(due.map((checker) => checker!.check().catch(() => void down.push(checker!.service))));
        if (down.length) {
          metrics.responseCacheStaleAnswers.inc();
          return { kind: 'hit', answer: answerOf(found.found.result, down) };
        }
        found = await read([found.key]);
        if (!found?.found.fresh) return miss(found?.found.result);
      }
      const open = found.found.result.services.filter(unavailable);
      if (open.length) {
        metrics.responseCacheStaleAnswers.inc();
        return { kind: 'hit', answer: answerOf(found.found.result, open) };
      }
      metrics.responseCacheLookups.inc({ result: 'hit' });
      return { kind: 'hit', answer: answerOf(found.found.result) };
    },

    /**
     * Stores a good result (no errors) of a miss; resolves with its ETag, or `undefined` when it
     * may not be kept (a write, a service without notices and a zero max age, an eviction of what
     * it holds while it was built, a feed not read before it started).
     */
    async store(miss: CacheMiss, body: string, dependencies: Dependencies): Promise<string | undefined> {
      const { policy } = miss.request;
      if (dependencies.write || dependencies.unavailable.size || policy.unhintedRoot) return undefined;
      const freshMs = policy.maxAge > 0 ? policy.maxAge * 1000 : dependencies.announced ? revalidatedTtlMs : 0;
      if (freshMs <= 0) return undefined;
      const at = now();
      if (at - miss.startedAt > MAX_BUILD_MS) return undefined;
      const entities = new Set(dependencies.entities);
      const feedNames = new Set<FeedName>();
      for (const entity of entities) {
        const feed = feedOf(entity);
        if (feed && checkers[feed]) feedNames.add(feed);
      }
      for (const service of dependencies.services) entities.add(ALL_OF(service));
      // A feed not anchored before the build started could not see a change made during it.
      let storable = true;
      for (const feed of feedNames) {
        const checker = checkers[feed]!;
        if (!checker.anchoredBefore(miss.startedAt)) storable = false;
        if (!checker.anchoredBefore(miss.startedAt) || checker.due()) {
          try {
            await checker.check();
          } catch {
            storable = false;
          }
        }
      }
      if (!storable || allEvictedSeq > miss.startSeq) return undefined;
      for (const entity of entities) if ((evicted.get(entity)?.seq ?? 0) > miss.startSeq) return undefined;
      const personal = policy.scope === 'PRIVATE' || dependencies.personal || dependencies.viewerRead;
      const result: CachedResult = { body, etag: etagOf(body), builtAt: miss.startedAt, expiresAt: miss.startedAt + freshMs, services: [...dependencies.services].sort(), feeds: [...feedNames] };
      try {
        await store.put(personal ? miss.keys.personal : miss.keys.shared, result, { freshMs, keepMs: Math.max(freshMs, staleMaxMs), entities: [...entities] });
      } catch (error) {
        logger.warn({ err: error }, 'response cache: storing failed');
        return undefined;
      }
      return result.etag;
    },

    /**
     * The last good answer for a miss whose execution failed because `services` were unavailable,
     * if one is kept and no older than the stale maximum.
     */
    staleAnswer(miss: CacheMiss, services: string[]): CacheAnswer | undefined {
      const last = miss.lastGood;
      if (!last || services.length === 0 || now() - last.builtAt > staleMaxMs) return undefined;
      metrics.responseCacheStaleAnswers.inc();
      return answerOf(last, [...new Set(services)].sort());
    },

    async close() {
      for (const stop of unsubscribe) stop();
      stopMissed();
      await store.close();
    },
  };
}

export type ResponseCache = ReturnType<typeof createResponseCache>;
