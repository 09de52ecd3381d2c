import { randomUUID } from 'node:crypto';

/** What a client- or proxy-supplied request id may look like: a UUID, a trace id, a short token. */
const SANE = /^[\w.:+=/-]{8,128}$/;

/**
 * The id of a request: the `x-request-id` it came with when that looks like an id (so a caller's
 * or load balancer's id follows it), else a new UUID. Never anything that could forge log lines.
 */
export function requestIdOf(header: string | string[] | null | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SANE.test(value) ? value : randomUUID();
}
