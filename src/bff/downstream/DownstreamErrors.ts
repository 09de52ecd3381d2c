/** The service could not be reached in time, or said it is unavailable (502/503/504). */
export class DownstreamUnavailableError extends Error {
  override name = 'DownstreamUnavailableError';
  constructor(
    readonly service: string,
    readonly reason: string,
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
