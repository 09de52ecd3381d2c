/** Every `extensions.code` the BFF puts on an error (design.md §9). */
export const ErrorCode = {
  Unauthenticated: 'UNAUTHENTICATED',
  Forbidden: 'FORBIDDEN',
  BadUserInput: 'BAD_USER_INPUT',
  InvalidCursor: 'INVALID_CURSOR',
  InvalidSyncToken: 'INVALID_SYNC_TOKEN',
  SyncTokenExpired: 'SYNC_TOKEN_EXPIRED',
  PersistedQueryNotInList: 'PERSISTED_QUERY_NOT_IN_LIST',
  PersistedQueryIdRequired: 'PERSISTED_QUERY_ID_REQUIRED',
  IdempotencyKeyRequired: 'IDEMPOTENCY_KEY_REQUIRED',
  IdempotencyKeyReused: 'IDEMPOTENCY_KEY_REUSED',
  IdempotencyKeyInUse: 'IDEMPOTENCY_KEY_IN_USE',
  DownstreamUnavailable: 'DOWNSTREAM_UNAVAILABLE',
  VersionConflict: 'VERSION_CONFLICT',
  RateLimited: 'RATE_LIMITED',
  /** The identity provider cannot be reached: HTTP 503 with `Retry-After`; the app keeps its session and retries. */
  AuthUnavailable: 'AUTH_UNAVAILABLE',
  /** The app version is below `MIN_CLIENT_VERSIONS` or retired (`SUNSET_CLIENT_VERSIONS`); `extensions.minimumVersion`. */
  UpgradeRequired: 'UPGRADE_REQUIRED',
  InternalServerError: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
