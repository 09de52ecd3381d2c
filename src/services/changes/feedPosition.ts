/**
 * A position in a change feed: after the row version stamped `(xid, seq)`. Feeds order row
 * versions by the writing transaction's id, then by sequence value; `{ xid: 0n, seq: 0n }` is
 * before everything.
 */
export interface FeedPosition {
  xid: bigint;
  seq: bigint;
}

const MAX_XID = 2n ** 64n - 1n;
const MAX_SEQ = 2n ** 63n - 1n;
const PATTERN = /^(\d{1,20})\.(\d{1,19})$/;

/** The wire form of a position, `<xid>.<seq>` in decimal: what `next` holds and `since` takes. */
export function formatPosition({ xid, seq }: FeedPosition): string {
  return `${xid}.${seq}`;
}

/** Parses `<xid>.<seq>`; returns a message saying what was expected for anything else. */
export function parsePosition(raw: string): FeedPosition | string {
  const match = PATTERN.exec(raw);
  const position = match ? { xid: BigInt(match[1]!), seq: BigInt(match[2]!) } : undefined;
  if (!position || position.xid > MAX_XID || position.seq > MAX_SEQ) {
    return `since: expected a position "<xid>.<seq>" returned as next by this feed, got ${JSON.stringify(raw.slice(0, 80))}`;
  }
  return position;
}

export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}
