import { createHash } from 'node:crypto';
import { clientError, ErrorCode } from '../errors/index.js';

const TOKEN_VERSION = '1';
const MAX_TOKEN_LENGTH = 256;
const POSITION = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The collection a token belongs to, named in every token it makes so that a token of another
 * collection, or of another user's orders, is refused instead of silently skipping changes.
 * Short, to keep a no-change pull small: `p`, or `o` and a digest of the user.
 */
export function syncScope(collection: 'products' | 'orders', owner?: string): string {
  if (collection === 'products') return 'p';
  return `o${createHash('sha256').update(owner ?? '').digest('base64url').slice(0, 6)}`;
}

/**
 * An opaque sync token: base64url of `1:<scope>:<position>:<check>`, the position being the
 * feed's own (the service's `next`) and the check a digest of the rest, so that a damaged or
 * truncated token is refused rather than read as another position. It carries nothing secret:
 * a client that forges one can only make its own replica wrong, and the orders feed is filtered
 * by the verified viewer, never by the token.
 */
export function encodeSyncToken(scope: string, position: string): string {
  const content = `${TOKEN_VERSION}:${scope}:${position}`;
  return Buffer.from(`${content}:${check(content)}`).toString('base64url');
}

function check(content: string): string {
  return createHash('sha256').update(content).digest('base64url').slice(0, 4);
}

/** The error for a `since` that is not a token of the collection, or whose position the feed refuses. */
export function invalidSyncToken() {
  return clientError(ErrorCode.InvalidSyncToken, 'since: not a sync token of this collection (damaged, or from another collection or user); sync again with since: null.', { argument: 'since' });
}

/** The feed position in a token of `scope`; `INVALID_SYNC_TOKEN` for anything else. */
export function decodeSyncToken(token: string, scope: string): string {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalidSyncToken();
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  const cut = decoded.lastIndexOf(':');
  const content = decoded.slice(0, cut);
  const [version, tokenScope, position, ...rest] = content.split(':');
  if (cut < 0 || decoded.slice(cut + 1) !== check(content) || version !== TOKEN_VERSION || tokenScope !== scope || !position || !POSITION.test(position) || rest.length) {
    throw invalidSyncToken();
  }
  return position;
}
