import type { ChangesResponse, ServiceErrorBody } from '../../contracts/index.js';
import type { Context } from '../context.js';
import { DownstreamResponseError } from '../downstream/DownstreamErrors.js';
import type { ServiceName } from '../downstream/createDownstreamClient.js';
import { clientError, ErrorCode } from '../errors/index.js';
import { decodeSyncToken, encodeSyncToken, invalidSyncToken } from './syncToken.js';

/** Most changes in one change set (`first`); the services' feeds answer at most as many. */
export const MAX_CHANGES_PAGE_SIZE = 1000;
/** Changes in a change set when `first` is not given. */
export const DEFAULT_CHANGES_PAGE_SIZE = 500;

export interface ChangesArgs {
  since?: string | null;
  first?: number | null;
}

export interface ChangesCall {
  service: ServiceName;
  /** The feed endpoint with its own parameters, e.g. `/orders/changes?userId=demo`. */
  path: string;
  /** A low-cardinality name for metrics, e.g. `GET /orders/changes`. */
  route: string;
  /** The token scope of the collection (`syncScope`). */
  scope: string;
}

/** What a change feed call may answer: a page, 400 for a position it refuses, 410 behind its purge horizon. */
export const CHANGES_STATUSES = [200, 400, 410] as const;

/**
 * The page of a change feed's answer (called with `expect: CHANGES_STATUSES`). A position the
 * feed does not accept is `INVALID_SYNC_TOKEN`; one behind its purged tombstones
 * `SYNC_TOKEN_EXPIRED`: the same for the `*Changes` queries and the subscriptions' streams.
 */
export function changesPage<R>(service: ServiceName, route: string, response: { status: number; body: unknown }): ChangesResponse<R> {
  if (response.status === 410) {
    throw clientError(
      ErrorCode.SyncTokenExpired,
      'since: this sync token is older than the deletions the server keeps, so some may have been missed; wipe the local copy of this collection and sync again with since: null.',
      { argument: 'since' },
    );
  }
  if (response.status === 400) {
    const body = response.body as ServiceErrorBody;
    if (body.field === 'since') throw invalidSyncToken();
    throw new DownstreamResponseError(service, route, response.status, body);
  }
  return response.body as ChangesResponse<R>;
}

/**
 * One page of a service's change feed for a `*Changes` field: validates `first`, turns `since`
 * into the feed's position, and the feed's `next` into the new sync token. A position the feed
 * does not accept is `INVALID_SYNC_TOKEN`; one behind its purged tombstones `SYNC_TOKEN_EXPIRED`.
 */
export async function fetchChanges<R>(ctx: Context, args: ChangesArgs, { service, path, route, scope }: ChangesCall) {
  const first = args.first ?? DEFAULT_CHANGES_PAGE_SIZE;
  if (first < 1 || first > MAX_CHANGES_PAGE_SIZE) {
    throw clientError(ErrorCode.BadUserInput, `first: expected 1 to ${MAX_CHANGES_PAGE_SIZE}, got ${first}.`, { argument: 'first' });
  }
  const since = args.since == null ? undefined : decodeSyncToken(args.since, scope);
  const query = `limit=${first}${since ? `&since=${encodeURIComponent(since)}` : ''}`;
  const response = await ctx.downstream.call<ChangesResponse<R> | ServiceErrorBody>(service, {
    path: `${path}${path.includes('?') ? '&' : '?'}${query}`,
    route,
    expect: CHANGES_STATUSES,
  });
  const page = changesPage<R>(service, route, response);
  return { updated: page.updated, deleted: page.deleted, syncToken: encodeSyncToken(scope, page.next), hasMore: page.hasMore };
}
