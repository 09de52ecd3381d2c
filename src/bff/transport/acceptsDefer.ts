/**
 * Whether a request's `Accept` takes incremental delivery in the 2022-08-24 format: a
 * `multipart/mixed` range that names no other protocol — not Apollo's subscriptions
 * (`subscriptionSpec=…`), nor the later incremental format Apollo Kotlin 5 can opt into
 * (`incrementalSpec=v0.2`, which then gets one complete response). Apollo Kotlin sends
 * `multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json` and
 * Apollo iOS `multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json`
 * with every query; Apollo Client `multipart/mixed;deferSpec=20220824,application/json` with a
 * query that defers.
 */
export function acceptsDefer(accept: string | null): boolean {
  if (!accept) return false;
  return accept
    .toLowerCase()
    .split(',')
    .some((range) => {
      const [type, ...params] = range.split(';').map((p) => p.trim());
      return type === 'multipart/mixed' && !params.some((p) => p.startsWith('subscriptionspec') || p.startsWith('incrementalspec'));
    });
}
