import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { toConnection, type PageRequest } from '../../src/bff/connections/connection.js';

// Issue 15: what a request made must die young. An accessor whose getter is a closure made per
// request (an object literal's `get x()`, or `Object.defineProperty` with `get: () => …`) is kept
// in the object's hidden class, in the old generation; until the next full collection every
// scavenge then keeps whatever the closure reaches alive and promotes it. On the orders screen
// that was the whole page (~25 KB per request) and scavenges of 5 ms instead of 1.4 (the response
// cache's accessors were the same case, src/bff/plugins/usePersistedResponseCache.ts).
// The test makes 100 requests' worth of connections, drops them, runs young collections only, and
// checks that the old generation did not take them in: with the closures it grew by ~28 MB here,
// without by a few KB.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
const oldSpaceBytes = () => getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size;

type Page = { id: string; payload: { k: number; s: string }[] }[];
/**
 * A maker of ~280 KB of young objects, as a page of parsed downstream answers is: a new function
 * each time, so that its allocation sites are new too. V8 tenures (allocates old) what a site
 * made that survived before; with one site for every try, what an earlier try or another test
 * file in the same worker did would decide this try (seen once in CI: ~25 MB "promoted").
 */
const freshBulky = () =>
  new Function(`return function bulky() {
    const page = [];
    for (let i = 0; i < 20; i++) {
      const payload = [];
      for (let k = 0; k < 200; k++) payload.push({ k, s: 'v' + k });
      page.push({ id: 'k' + i, payload });
    }
    return page;
  }`)() as () => Page;
const REQUESTS = 100;
const PROMOTED_AT_MOST = 5 * 1024 * 1024;

/** How much the old generation grew while `make` ran `REQUESTS` times and its objects died, with only young collections in between. */
async function promotedOnce(makeWith: (bulky: () => Page) => () => unknown): Promise<number> {
  const make = makeWith(freshBulky());
  for (let i = 0; i < 20; i++) make();
  gc({ type: 'major' });
  const before = oldSpaceBytes();
  for (let i = 0; i < REQUESTS; i++) make();
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 3; i++) gc({ type: 'minor' });
  return oldSpaceBytes() - before;
}

/**
 * The least of three tries: anything else the process does meanwhile (a full collection's
 * marking under way, the test runner compiling a module) can only add to one try, while objects
 * kept by an accessor's closure are promoted every time.
 */
async function promotedBy(makeWith: (bulky: () => Page) => () => unknown): Promise<number> {
  const tries: number[] = [];
  for (let i = 0; i < 3; i++) tries.push(await promotedOnce(makeWith));
  return Math.min(...tries);
}

const forward: PageRequest = { direction: 'forward', size: 20, after: undefined, before: undefined };

describe('what a request leaves behind dies young', () => {
  it('a connection, whose pageInfo encodes its cursors when read', async () => {
    let cursors = 0;
    const promoted = await promotedBy((bulky) => () => {
      const connection = toConnection({ items: bulky(), hasNext: true, hasPrevious: false }, forward, 'scope123', (item) => [item.id]);
      cursors += connection.pageInfo.endCursor!.length + connection.pageInfo.startCursor!.length;
    });
    expect(cursors).toBeGreaterThan(0);
    expect(promoted).toBeLessThan(PROMOTED_AT_MOST);
  });
});
