// Idempotent mutations (design.md §6): keys stored in PostgreSQL, the @idempotent resolver wrapper, the downstream key.
export { applyIdempotentDirective, RETRY_AFTER_SECONDS } from './applyIdempotentDirective.js';
export { createIdempotencyStore, type IdempotencyStore } from './createIdempotencyStore.js';
export { createRequestIdempotency, type RequestIdempotency } from './createRequestIdempotency.js';
export { downstreamIdempotencyKey } from './downstreamIdempotencyKey.js';
