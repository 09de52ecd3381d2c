/**
 * A `Retry-After` header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as milliseconds from
 * `now`; `undefined` when absent or unreadable, 0 for a date in the past.
 */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
