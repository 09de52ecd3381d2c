import { GraphQLError } from 'graphql';
import { DownstreamUnavailableError } from '../downstream/DownstreamErrors.js';
import { ErrorCode } from './ErrorCode.js';

/** A request problem the client should see, with its code and, where one applies, an HTTP status. */
export function clientError(code: ErrorCode, message: string, extra: { status?: number; headers?: Record<string, string>; [key: string]: unknown } = {}): GraphQLError {
  const { status, headers, ...rest } = extra;
  return new GraphQLError(message, {
    extensions: { code, ...rest, ...(status ? { http: { status, ...(headers ? { headers } : {}) } } : {}) },
  });
}

const UNEXPECTED = 'Unexpected error.';

/**
 * Yoga's `maskError`: GraphQL errors that carry a code pass as they are; a downstream outage
 * becomes `DOWNSTREAM_UNAVAILABLE`; anything else is `Unexpected error.` with
 * `INTERNAL_SERVER_ERROR` and nothing of its message or stack. `onUnexpected` gets the original,
 * for the log.
 */
export function maskError(onUnexpected: (error: unknown) => void) {
  return (error: unknown): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (error instanceof GraphQLError && !error.originalError && error.extensions?.code) return error;
    // No path: graphql-js or yoga refused the request before any resolver ran (a variable of the
    // wrong type, a missing required variable, bad JSON). That is the client's input, not our
    // failure. But a subscription's stream that fails has no path either: an error whose original
    // is one of ours (not graphql-js's, not yoga's HTTP refusal) is judged by that original below.
    if (error instanceof GraphQLError && !error.path && (!error.originalError || error.originalError instanceof GraphQLError || error.extensions?.http)) return error;
    if (original instanceof GraphQLError && original.extensions?.code) {
      if (!(error instanceof GraphQLError)) return original;
      return new GraphQLError(original.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: original.extensions });
    }
    const path = error instanceof GraphQLError ? error.path : undefined;
    const nodes = error instanceof GraphQLError ? error.nodes : undefined;
    if (original instanceof DownstreamUnavailableError) {
      return new GraphQLError(`The ${original.service} service is unavailable; try again later.`, {
        nodes,
        path,
        extensions: { code: ErrorCode.DownstreamUnavailable, service: original.service },
      });
    }
    onUnexpected(original);
    return new GraphQLError(UNEXPECTED, { nodes, path, extensions: { code: ErrorCode.InternalServerError } });
  };
}

/**
 * `maskError` logging to a request's logger `log`, as yoga logs around its own masking: an
 * unexpected error once at `error` with the original, and every error the mask changed at `debug`.
 * The by-hash lane and `useMaskedErrorsWithRequestLog` (yoga's path) both mask with it.
 */
export function maskAndLog(log: { error(object: object, message: string): void; debug(message: string): void }) {
  const mask = maskError((unexpected) => log.error({ err: unexpected }, 'unexpected error in a resolver'));
  return (error: unknown): Error => {
    const masked = mask(error);
    if (masked !== error) log.debug(String(error));
    return masked;
  };
}
