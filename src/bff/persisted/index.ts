// Persisted operations: manifests loaded and validated once at start, looked up by id per request.
export { loadPersistedOperations, ManifestError, type PersistedOperations, type PersistedOperation } from './loadPersistedOperations.js';
export { normalizeOperationText } from './normalizeOperationText.js';
export { extractOperationId } from './extractOperationId.js';
export { compilePersistedQueries } from './compilePersistedQueries.js';
export type { CachePolicy } from './cachePolicy.js';
