import { encodeCursor, toConnection, type PageRequest } from '../../src/bff/connections/connection.js';
import { fromGlobalId, toGlobalId } from '../../src/bff/ids/globalId.js';

// Issue 15: a connection encodes an edge's cursor only when the query reads it, and global ids are
// remembered per type (bounded). Both must give exactly the values the eager encoders give.

const forward: PageRequest = { direction: 'forward', size: 3, after: undefined, before: undefined };

describe('toConnection: cursors made when read', () => {
  it('reads no sort values until a cursor is read, then gives the eager encoding, once per edge', () => {
    const items = [{ k: 'a', n: 1 }, { k: 'b', n: 2 }, { k: 'c', n: 3 }];
    const reads: string[] = [];
    const connection = toConnection({ items, hasNext: true, hasPrevious: false }, forward, 'scope123', (item) => {
      reads.push(item.k);
      return [item.k, item.n];
    });
    expect(connection.edges.map((edge) => edge.node)).toEqual(items);
    expect(reads).toEqual([]);
    expect(connection.pageInfo.endCursor).toBe(encodeCursor('scope123', ['c', 3]));
    expect(reads).toEqual(['c']);
    expect(connection.edges.map((edge) => edge.cursor)).toEqual(items.map((item) => encodeCursor('scope123', [item.k, item.n])));
    expect(connection.pageInfo.startCursor).toBe(connection.edges[0]!.cursor);
    expect(connection.pageInfo.endCursor).toBe(connection.edges[2]!.cursor);
    // Each edge's values were read once, however often its cursor was.
    expect(reads.sort()).toEqual(['a', 'b', 'c']);
    expect(connection.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    // Serialized, an edge is the plain `{ cursor, node }` it stands for.
    expect(JSON.parse(JSON.stringify(connection.edges[1]))).toEqual({ cursor: encodeCursor('scope123', ['b', 2]), node: items[1] });
  });

  it('gives an empty page null cursors, and first: 0 no edges however many rows came back', () => {
    const empty = toConnection({ items: [], hasNext: false, hasPrevious: false }, forward, 's', () => []);
    expect(empty.pageInfo.startCursor).toBeNull();
    expect(empty.pageInfo.endCursor).toBeNull();
    const none = toConnection({ items: [{ k: 'x' }], hasNext: false, hasPrevious: false }, { ...forward, size: 0 }, 's', (i) => [i.k]);
    expect(none.edges).toEqual([]);
    expect(none.pageInfo).toMatchObject({ hasNextPage: true, startCursor: null, endCursor: null });
  });
});

describe('toGlobalId: remembered ids', () => {
  const encode = (type: string, key: string) => Buffer.from(`1:${type}:${key}`).toString('base64url');

  it('gives the encoding of `1:<Type>:<key>` for every key, past the bound of remembered ids and again after it', () => {
    const keys = Array.from({ length: 25_000 }, (_, i) => `SKU-${i}`);
    for (const key of keys) expect(toGlobalId('Product', key)).toBe(encode('Product', key));
    for (const key of keys.slice(0, 100)) expect(toGlobalId('Product', key)).toBe(encode('Product', key));
    expect(fromGlobalId(toGlobalId('Product', 'SKU-7'))).toEqual({ type: 'Product', key: 'SKU-7' });
  });

  it('keeps the types apart: the same key is another id for another type', () => {
    expect(toGlobalId('Order', 'D1')).toBe(encode('Order', 'D1'));
    expect(toGlobalId('User', 'D1')).toBe(encode('User', 'D1'));
    expect(toGlobalId('Order', 'D1')).not.toBe(toGlobalId('User', 'D1'));
    expect(fromGlobalId(toGlobalId('User', 'D1'))).toEqual({ type: 'User', key: 'D1' });
  });
});
