import { createHash } from 'node:crypto';
import { clientError, ErrorCode } from '../errors/index.js';
import { isStorableText } from '../../util/storableText.js';

/** Page size limits of every connection: `first`/`last` are 0 to 100; neither given means `first: 20`. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

const CURSOR_VERSION = 1;
type SortValue = string | number;

/**
 * The type of one sort value of an ordering, as the service's SQL reads it: `text`, or
 * `timestamp` (an ISO-8601 instant as the services write it, `2026-01-02T03:04:05.678Z`).
 */
export type SortKind = 'text' | 'timestamp';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether a decoded sort value is one the ordering's column accepts (a client can forge any cursor). */
function fitsKind(value: SortValue, kind: SortKind): boolean {
  if (typeof value !== 'string' || !isStorableText(value)) return false;
  // A round trip: a 30th of February or a 25th hour parse leniently but do not come back the same.
  if (kind === 'timestamp') return INSTANT.test(value) && new Date(value).toISOString() === value;
  return true;
}

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** What to ask the downstream list endpoint for. */
export interface PageRequest {
  direction: 'forward' | 'backward';
  /** Rows wanted (0 to 100). */
  size: number;
  after: SortValue[] | undefined;
  before: SortValue[] | undefined;
}

/**
 * A connection's ordering and filter, named in every cursor it makes (as a digest), so a cursor
 * from another ordering or filter is refused instead of silently landing somewhere else.
 */
export function cursorScope(name: string, filter: Record<string, unknown> = {}): string {
  const canonical = JSON.stringify([name, Object.entries(filter).filter(([, v]) => v != null).sort(([a], [b]) => a.localeCompare(b))]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 8);
}

/** An opaque cursor: base64url of `[version, scope, ...sortValues]` (the primary key last). */
export function encodeCursor(scope: string, values: SortValue[]): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, scope, ...values])).toString('base64url');
}

/**
 * The sort values of a cursor of `scope`, each checked against its column's `kinds`, so that a
 * forged cursor is `INVALID_CURSOR` here rather than a value the service's database refuses.
 */
export function decodeCursor(cursor: string, scope: string, kinds: readonly SortKind[], argName: string): SortValue[] {
  const arity = kinds.length;
  const invalid = () => clientError(ErrorCode.InvalidCursor, `${argName}: not a cursor of this list (it may come from another list, ordering or filter); start again without ${argName}.`, { argument: argName });
  if (cursor.length > 1024) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== arity + 2 || parsed[0] !== CURSOR_VERSION || parsed[1] !== scope) throw invalid();
  const values = parsed.slice(2);
  if (!values.every((v, i) => fitsKind(v as SortValue, kinds[i]!))) throw invalid();
  return values as SortValue[];
}

/** Validates Relay arguments (relay.dev Cursor Connections) and turns them into a keyset page request. */
export function toPageRequest(args: ConnectionArgs, scope: string, kinds: readonly SortKind[]): PageRequest {
  const { first, last, after, before } = args;
  if (first != null && last != null) {
    throw clientError(ErrorCode.BadUserInput, 'Pass either first or last, not both.');
  }
  for (const [name, value] of [['first', first], ['last', last]] as const) {
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw clientError(ErrorCode.BadUserInput, `${name}: expected 0 to ${MAX_PAGE_SIZE}, got ${value}.`, { argument: name });
    }
  }
  return {
    direction: last != null ? 'backward' : 'forward',
    size: last ?? first ?? DEFAULT_PAGE_SIZE,
    after: after != null ? decodeCursor(after, scope, kinds, 'after') : undefined,
    before: before != null ? decodeCursor(before, scope, kinds, 'before') : undefined,
  };
}

/** The query string a keyset list endpoint takes for a page request (one extra row tells whether more exist). */
export function pageQuery(page: PageRequest): string {
  const params = new URLSearchParams({ limit: String(Math.max(page.size, 1)) });
  if (page.direction === 'backward') params.set('direction', 'backward');
  if (page.after) params.set('after', JSON.stringify(page.after));
  if (page.before) params.set('before', JSON.stringify(page.before));
  return params.toString();
}

/**
 * One edge: its cursor is encoded when a query reads it (most screens read only
 * `pageInfo.endCursor`; encoding all 20 of a page cost ~0.4 µs each), then kept.
 */
class Edge<T> {
  #cursor: string | undefined;
  /** The page's encoder, one for all its edges. */
  readonly #cursorOf: (node: T) => string;
  constructor(
    readonly node: T,
    cursorOf: (node: T) => string,
  ) {
    this.#cursorOf = cursorOf;
  }
  get cursor(): string {
    return (this.#cursor ??= this.#cursorOf(this.node));
  }
  /** As the plain `{ cursor, node }` it stands for, should anything serialize it. */
  toJSON() {
    return { cursor: this.cursor, node: this.node };
  }
}

/**
 * A connection's `pageInfo`: its cursors are the first and last edge's, encoded when read. A class,
 * not an object literal with getters: V8 keeps an accessor's functions in the object's hidden
 * class, in the old generation, and a literal's getters are new closures per page, holding the
 * edges; until the next full collection every scavenge then kept the whole page (the downstream
 * answer, the resolved nodes, through the sort-values closure the resolver's context) alive and
 * promoted it: ~25 KB per orders screen, and scavenges of 5 ms instead of 1.4 (issue 15;
 * test/bff/youngGarbage.test.ts).
 */
class PageInfo<T> {
  readonly #edges: readonly Edge<T>[];
  constructor(
    edges: readonly Edge<T>[],
    readonly hasNextPage: boolean,
    readonly hasPreviousPage: boolean,
  ) {
    this.#edges = edges;
  }
  get startCursor(): string | null {
    return this.#edges[0]?.cursor ?? null;
  }
  get endCursor(): string | null {
    return this.#edges.at(-1)?.cursor ?? null;
  }
  /** As the plain object it stands for, should anything serialize it. */
  toJSON() {
    return { hasNextPage: this.hasNextPage, hasPreviousPage: this.hasPreviousPage, startCursor: this.startCursor, endCursor: this.endCursor };
  }
}

/**
 * Builds the connection from one downstream page (in list order, with exact `hasNext` and
 * `hasPrevious`). A page of size 0 still asked for one row, which tells whether rows follow.
 * Cursors are made when read (`Edge`, `PageInfo`).
 */
export function toConnection<T>(list: { items: T[]; hasNext: boolean; hasPrevious: boolean }, page: PageRequest, scope: string, sortValues: (item: T) => SortValue[]) {
  const empty = page.size === 0;
  const items = empty ? [] : list.items;
  const edges = new Array<Edge<T>>(items.length);
  const cursorOf = (node: T) => encodeCursor(scope, sortValues(node));
  for (let i = 0; i < items.length; i++) edges[i] = new Edge<T>(items[i] as T, cursorOf);
  return {
    edges,
    pageInfo: new PageInfo<T>(
      edges,
      empty && page.direction === 'forward' ? list.items.length > 0 : list.hasNext,
      empty && page.direction === 'backward' ? list.items.length > 0 : list.hasPrevious,
    ),
  };
}
