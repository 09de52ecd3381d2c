// Persisted operations: manifests (one per app release) loaded and validated at start and on every change, looked up by id per request.
export { loadPersistedOperations, ManifestError, type Manifest, type PersistedOperations, type PersistedOperation } from './loadPersistedOperations.js';
export { normalizeOperationText } from './normalizeOperationText.js';
export { extractOperationId } from './extractOperationId.js';
export { compilePersistedQueries } from './compilePersistedQueries.js';
export { watchPersistedOperations, type ServedOperations, type PersistedOperationsWatcher } from './watchPersistedOperations.js';
export { parseManifestName, FIRST_PARTY_MANIFEST, type ManifestRelease } from './parseManifestName.js';
export type { CachePolicy } from './cachePolicy.js';
