import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { eq } from 'drizzle-orm';
import type { Db } from '../../src/db/index.js';
import { products } from '../../src/services/catalog/catalogTables.js';
import { createProductReplica, sourceProducts } from '../support/productReplica.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The property: however writers interleave (inserts, updates and deletes, through the catalog
// service or in transactions held open while others commit, some rolled back), a client that
// keeps pulling productChanges over HTTP, from a full sync onwards, holds exactly the catalog once
// the writers have stopped and it has pulled once more. On PGlite the held transactions run one
// at a time (see lateCommit.test.ts); on PostgreSQL they overlap.

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const SKUS_PER_RUN = 24;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Op = { kind: 'put'; sku: number; name: string; priceCents: number } | { kind: 'delete'; sku: number };
interface Txn {
  /** `service`: the first op alone, through the catalog's HTTP API; `transaction`: every op in one database transaction. */
  via: 'service' | 'transaction';
  ops: Op[];
  /** How long the transaction stays open after its first write, while others commit. */
  holdMs: number;
  rollback: boolean;
}

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), sku: fc.nat(SKUS_PER_RUN - 1), name: fc.constantFrom('Alpha', 'Beta', 'Gamma'), priceCents: fc.nat(10_000) }),
  fc.record({ kind: fc.constant('delete' as const), sku: fc.nat(SKUS_PER_RUN - 1) }),
);
const txn: fc.Arbitrary<Txn> = fc.record({
  via: fc.constantFrom('service' as const, 'transaction' as const),
  ops: fc.array(op, { minLength: 1, maxLength: 4 }),
  holdMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  rollback: fc.boolean().map((b) => b && Math.random() < 0.5),
});
const writers = fc.array(fc.array(txn, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 4 });

class Rollback extends Error {}

async function runOp(tx: Db, sku: string, o: Op) {
  if (o.kind === 'delete') await tx.delete(products).where(eq(products.sku, sku));
  else {
    const values = { name: o.name, priceCents: o.priceCents, currency: 'EUR' };
    await tx.insert(products).values({ sku, ...values }).onConflictDoUpdate({ target: products.sku, set: values });
  }
}

async function runTxn(t: Txn, skuOf: (n: number) => string) {
  if (t.via === 'service') {
    const o = t.ops[0]!;
    const url = `${system.serviceUrls.catalog}/products/${skuOf(o.sku)}`;
    const response =
      o.kind === 'delete'
        ? await fetch(url, { method: 'DELETE' })
        : await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: o.name, priceCents: o.priceCents, currency: 'EUR' }) });
    expect([200, 201, 204, 404]).toContain(response.status);
    return;
  }
  // Rows are locked in SKU order in every transaction, so that they never deadlock each other.
  const ops = [...t.ops].sort((a, b) => a.sku - b.sku);
  try {
    await system.database.db.transaction(async (transaction) => {
      const tx = transaction as unknown as Db;
      await runOp(tx, skuOf(ops[0]!.sku), ops[0]!);
      if (t.holdMs) await sleep(t.holdMs);
      for (const o of ops.slice(1)) await runOp(tx, skuOf(o.sku), o);
      if (t.rollback) throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
}

describe('a replica kept by productChanges', () => {
  it('equals the catalog after concurrent random writers stop and a final pull', async () => {
    await fc.assert(
      fc.asyncProperty(writers, fc.integer({ min: 5, max: 60 }), fc.integer({ min: 0, max: 10 }), fc.boolean(), async (scripts, pageSize, pauseMs, syncedFirst) => {
        const run = randomBytes(4).toString('hex');
        const skuOf = (n: number) => `PROP-${run}-${n}`;
        const replica = createProductReplica(system);
        // Either the writers start during the client's full sync, or after it, so that its pulls
        // run against the end of the feed, where a late commit could be jumped over.
        if (syncedFirst) await replica.sync(pageSize);

        let writing = true;
        const writersDone = Promise.all(scripts.map(async (script) => {
          for (const t of script) await runTxn(t, skuOf);
        })).finally(() => (writing = false));
        const pulling = (async () => {
          while (writing) {
            await replica.pullPage(pageSize);
            await sleep(pauseMs);
          }
        })();
        await Promise.all([writersDone, pulling]);

        await replica.sync(pageSize);
        expect(replica.rows).toEqual(await sourceProducts(system));
      }),
      // A failure depends on timing, which shrinking cannot replay: report the first one as it is.
      { numRuns: 10, endOnFailure: true },
    );
  });
});
