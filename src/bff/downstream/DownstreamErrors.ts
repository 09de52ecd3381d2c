/** The service could not be reached in time, or said it is unavailable (429/502/503/504), or its breaker is open. */
export class DownstreamUnavailableError extends Error {
  override name = 'DownstreamUnavailableError';
  constructor(
    readonly service: string,
    readonly reason: string,
    /**
     * `retryable`: another attempt of an idempotent read may succeed (a refused or dropped
     * connection, 429, 502/503/504). `retryAfterMs`: the service's `Retry-After`. `countsAsFailure`:
     * whether the service's circuit breaker counts it (not when only the request's own budget ran out).
     */
    readonly details: { retryable?: boolean; retryAfterMs?: number; countsAsFailure?: boolean } = {},
  ) {
    super(`${service} unavailable: ${reason}`);
  }
}

/** The service answered with a status the caller did not expect (a bug on one side): masked for clients. */
export class DownstreamResponseError extends Error {
  override name = 'DownstreamResponseError';
  constructor(
    readonly service: string,
    readonly route: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`${service} ${route} answered ${status}`);
  }
}
