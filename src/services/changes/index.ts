// Commit-safe change feeds over trigger-stamped rows and tombstones: reading them, and purging old tombstones.
export type { ChangeFeed } from './ChangeFeed.js';
export { comparePositions, formatPosition, parsePosition, type FeedPosition } from './feedPosition.js';
export { readChanges, type ChangesPage, type ChangesRequest } from './readChanges.js';
export { purgeTombstones } from './purgeTombstones.js';
export { createTombstonePurgeJob, type TombstonePurgeJobOptions } from './createTombstonePurgeJob.js';
export { DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT, parseChangesQuery } from './parseChangesQuery.js';
