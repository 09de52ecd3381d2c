/**
 * Delay before retry number `attempt` (0 for the first retry): "full jitter" (uniform in
 * [0, min(maxMs, baseMs·2^attempt)]), so that the callers of a service that just failed do not all
 * come back at the same moment. A `Retry-After` from the service is a floor, not jittered down.
 */
export function backoffDelay({ attempt, baseMs, maxMs, retryAfterMs, random = Math.random }: { attempt: number; baseMs: number; maxMs: number; retryAfterMs?: number | undefined; random?: () => number }): number {
  const jittered = Math.round(random() * Math.min(maxMs, baseMs * 2 ** attempt));
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}
