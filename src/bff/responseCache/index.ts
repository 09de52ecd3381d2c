// The response cache (design.md §13): a core independent of the transport, its stores, and what a request read.
export { createResponseCache, etagOf, matchesEtag, FeedPositionExpired } from './createResponseCache.js';
export type { CacheAnswer, CacheLookup, CacheMiss, CacheRequest, FeedPage, FeedReader, ResponseCache, ResponseCacheOptions } from './createResponseCache.js';
export { createMemoryStore } from './createMemoryStore.js';
export { createRedisStore } from './createRedisStore.js';
export type { CachedResult, ResponseCacheStore, StoredResult } from './ResponseCacheStore.js';
export { createDependencies, recordDependencies, type Dependencies } from './recordDependencies.js';
export * from './entities.js';
