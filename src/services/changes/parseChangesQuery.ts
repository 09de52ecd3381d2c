import { parseLimit } from '../http/createServiceApp.js';
import { parsePosition, type FeedPosition } from './feedPosition.js';

/** Most changes in one page of a feed. */
export const MAX_CHANGES_LIMIT = 1000;
/** Changes in a page when `limit` is absent. */
export const DEFAULT_CHANGES_LIMIT = 500;

/** Parses `?since=&limit=` of a change-feed endpoint; the field at fault and a message for anything else. */
export function parseChangesQuery(query: { since?: string | undefined; limit?: string | undefined }): { since: FeedPosition | undefined; limit: number } | { field: string; message: string } {
  const since = query.since === undefined ? undefined : parsePosition(query.since);
  if (typeof since === 'string') return { field: 'since', message: since };
  const limit = parseLimit(query.limit, MAX_CHANGES_LIMIT, DEFAULT_CHANGES_LIMIT);
  if (typeof limit === 'string') return { field: 'limit', message: limit };
  return { since, limit };
}
