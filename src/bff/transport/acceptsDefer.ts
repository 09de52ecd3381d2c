/**
 * Whether a request's `Accept` takes incremental delivery: a `multipart/mixed` range that is not
 * Apollo's subscription protocol (`subscriptionSpec=…`). Apollo Kotlin and iOS send
 * `multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json` with
 * every query; Apollo Client sends `multipart/mixed;deferSpec=20220824,application/json` for a query
 * that defers.
 */
export function acceptsDefer(accept: string | null): boolean {
  if (!accept) return false;
  return accept
    .toLowerCase()
    .split(',')
    .some((range) => {
      const [type, ...params] = range.split(';').map((p) => p.trim());
      return type === 'multipart/mixed' && !params.some((p) => p.startsWith('subscriptionspec'));
    });
}
