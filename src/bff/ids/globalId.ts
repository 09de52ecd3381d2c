/** The types that have global IDs. */
export type NodeType = 'User' | 'Product' | 'Order';

const VERSION = '1';
const NODE_TYPES: ReadonlySet<string> = new Set<NodeType>(['User', 'Product', 'Order']);

/**
 * A global ID: base64url of `1:<Type>:<key>`. The leading version lets the format change while
 * IDs stored on phones keep resolving; clients treat the whole string as opaque.
 */
export function toGlobalId(type: NodeType, key: string): string {
  const known = encoded[type];
  let id = known.get(key);
  if (id === undefined) {
    id = Buffer.from(`${VERSION}:${type}:${key}`).toString('base64url');
    // Bounded: past the limit the ids of the keys seen since are kept instead.
    if (known.size >= REMEMBERED_IDS) known.clear();
    known.set(key, id);
  }
  return id;
}

/**
 * The ids made lately, per type: one screen makes the same ids again and again (the orders screen
 * makes ~100, a product's for every line it is on), and encoding one costs ~10 times a lookup.
 */
const REMEMBERED_IDS = 10_000;
const encoded: Record<NodeType, Map<string, string>> = { User: new Map(), Product: new Map(), Order: new Map() };

/** The type and service key of a global ID, or `null` for anything that is not one of ours. */
export function fromGlobalId(id: string): { type: NodeType; key: string } | null {
  if (id.length > 512 || !/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const decoded = Buffer.from(id, 'base64url').toString('utf8');
  const first = decoded.indexOf(':');
  const second = decoded.indexOf(':', first + 1);
  if (first < 0 || second < 0 || decoded.slice(0, first) !== VERSION) return null;
  const type = decoded.slice(first + 1, second);
  const key = decoded.slice(second + 1);
  // No service key holds a comma (the `?ids=` separator of batch calls), white space or control
  // characters; such a key is crafted, and must not make a whole batch fail.
  if (!NODE_TYPES.has(type) || key === '' || /[,\s\p{Cc}]/u.test(key)) return null;
  return { type: type as NodeType, key };
}
