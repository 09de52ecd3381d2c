import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { selectRows, type Db } from '../../src/db/index.js';
import { products } from '../../src/services/catalog/catalogTables.js';
import { createProductReplica, productId, sourceProducts, type ProductChangeSet } from '../support/productReplica.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The late-commit problem: transaction T1 writes a row and stays open; T2 writes another row and
// commits; a client pulls; T1 commits. T1's row carries an earlier updated_at (now() is the start
// of the transaction) and an earlier transaction id than T2's, yet becomes visible after the
// client has seen T2's. A feed that hands out "newest seen" as the watermark skips it forever.
//
// On PostgreSQL T1 and T2 run on two connections at once. Embedded PGlite has one connection and
// runs transactions one at a time: query(), exec() and transaction() all take the same exclusive
// lock, and transaction() keeps it until COMMIT or ROLLBACK, so T2 (and any pull) waits for T1
// and nothing can commit behind a later transaction. (A raw `BEGIN` sent with query() instead
// would not keep the lock: every other caller's statements would then run inside that open
// transaction. The services never do that; they only use db.transaction().) The late commit
// cannot be constructed on PGlite, so there the tests show the serialisation instead; the feed is
// the same code in both modes.

const onPostgres = Boolean(process.env.DATABASE_URL);

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** T1: a transaction on its own connection that inserts a product and stays open until `commit()`. */
function openTransactionInserting(sku: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  const done = system.database.db.transaction(async (tx) => {
    await tx.insert(products).values({ sku, name: 'Written by T1', priceCents: 100, currency: 'EUR' });
    wrote();
    await released;
  });
  return {
    written,
    commit() {
      release();
      return done;
    },
  };
}

/** T2: a product written through the catalog service, committed when the response arrives. */
async function putProduct(sku: string) {
  const response = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Written by T2', priceCents: 100, currency: 'EUR' }),
  });
  expect(response.status).toBe(201);
}

/**
 * The naive feed, kept as a control to prove the late-commit test bites: rows with
 * `updated_at > since`, the watermark being the newest `updated_at` seen.
 */
function createNaiveReader(db: Db) {
  let since: string | null = null;
  return {
    async pull(): Promise<string[]> {
      const rows = await selectRows<{ sku: string; updated_at: Date }>(
        db,
        sql`SELECT sku, updated_at FROM catalog.products WHERE ${since}::timestamptz IS NULL OR updated_at > ${since}::timestamptz ORDER BY updated_at`,
      );
      if (rows.length) since = new Date(rows.at(-1)!.updated_at).toISOString();
      return rows.map((r) => r.sku);
    },
  };
}

const skusOf = (pages: ProductChangeSet[]) => pages.flatMap((p) => p.updated.map((u) => u.sku));

(onPostgres ? describe : describe.skip)('a transaction that commits after a later one (PostgreSQL, two connections)', () => {
  const t1Sku = `LATE-${randomBytes(4).toString('hex')}`;
  const t2Sku = `EARLY-${randomBytes(4).toString('hex')}`;
  let scenario: {
    replica: ReturnType<typeof createProductReplica>;
    beforeCommit: ProductChangeSet[];
    afterCommit: ProductChangeSet[];
    naiveBeforeCommit: string[];
    naiveAfterCommit: string[];
    naiveSeen: Set<string>;
  };

  beforeAll(async () => {
    const feed = createProductReplica(system);
    const naive = createNaiveReader(system.database.db);
    await feed.sync();
    const naiveSeen = new Set(await naive.pull());

    const t1 = openTransactionInserting(t1Sku);
    await t1.written;
    await sleep(5); // T2's now() must be a later millisecond than T1's.
    await putProduct(t2Sku);

    const beforeCommit = await feed.sync();
    const naiveBeforeCommit = await naive.pull();
    await t1.commit();
    const afterCommit = await feed.sync();
    const naiveAfterCommit = await naive.pull();
    for (const sku of [...naiveBeforeCommit, ...naiveAfterCommit]) naiveSeen.add(sku);
    scenario = { replica: feed, beforeCommit, afterCommit, naiveBeforeCommit, naiveAfterCommit, naiveSeen };
  });

  it("holds back T2's committed row while T1, which wrote first, is still open", () => {
    expect(skusOf(scenario.beforeCommit)).not.toContain(t2Sku);
    expect(skusOf(scenario.beforeCommit)).not.toContain(t1Sku);
  });

  it("delivers T1's row on the first pull after T1 commits, with T2's", () => {
    expect(skusOf(scenario.afterCommit)).toEqual(expect.arrayContaining([t1Sku, t2Sku]));
  });

  it('ends with a replica equal to the catalog table', async () => {
    expect(scenario.replica.rows.get(productId(t1Sku))).toEqual({ sku: t1Sku, name: 'Written by T1', priceCents: 100 });
    expect(scenario.replica.rows).toEqual(await sourceProducts(system));
  });

  it("(control) the naive `updated_at > since` query skips T1's row for good", async () => {
    expect(scenario.naiveBeforeCommit).toContain(t2Sku);
    expect(scenario.naiveAfterCommit).not.toContain(t1Sku);
    expect(scenario.naiveSeen.has(t1Sku)).toBe(false);
    expect((await sourceProducts(system)).has(productId(t1Sku))).toBe(true);
  });
});

(onPostgres ? describe.skip : describe)('a transaction held open on PGlite (one connection: transactions run one at a time)', () => {
  it('makes a second writer wait until the open transaction commits, so no commit can land behind a later one', async () => {
    const events: string[] = [];
    const t1 = openTransactionInserting(`LATE-${randomBytes(4).toString('hex')}`);
    await t1.written;
    const t2 = putProduct(`EARLY-${randomBytes(4).toString('hex')}`).then(() => events.push('T2 committed'));
    await sleep(200);
    events.push('T1 commits');
    await t1.commit();
    await t2;
    expect(events).toEqual(['T1 commits', 'T2 committed']);
  });

  it("makes a pull wait for the open transaction, then delivers T1's row", async () => {
    const replica = createProductReplica(system);
    await replica.sync();
    const sku = `LATE-${randomBytes(4).toString('hex')}`;
    const t1 = openTransactionInserting(sku);
    await t1.written;
    let settled = false;
    const pulled = replica.sync().finally(() => (settled = true));
    await sleep(200);
    expect(settled).toBe(false);
    await t1.commit();
    expect(skusOf(await pulled)).toContain(sku);
    expect(replica.rows).toEqual(await sourceProducts(system));
  });
});
