import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Client } from 'graphql-ws';
import { signDevToken } from '../../src/auth/index.js';
import { placeOrder } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { waitUntil } from '../support/waitUntil.js';
import { collect, wsClient } from '../support/wsClient.js';

// On PostgreSQL a feed never passes a transaction that is still running (it could commit a change
// below the position it would hand out), so a change committed while an older transaction runs is
// held back until that one finishes. Its notice has come already: a subscription that waited for
// the next notice would deliver it only at the next resync (a minute by default). The feed says
// `held`, and the stream reads again shortly. (Embedded PGlite has one connection: nothing is
// ever held there.)

const withServer = process.env.DATABASE_URL ? describe : describe.skip;

const ORDER_EVENTS = /* GraphQL */ `subscription { orderEvents { order { number status } syncToken } }`;

withServer('changes held back by an older transaction (PostgreSQL)', () => {
  let system: TestSystem;
  const clients: Client[] = [];
  beforeAll(async () => {
    // A resync far longer than the test: only the held retry can deliver the change.
    system = await startTestSystem({ SUBSCRIPTION_RESYNC_MS: '600000' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await system?.stop();
  });

  /** A transaction of the same database that has taken its id and stays open until the returned function is called. */
  async function olderTransaction(): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let began!: () => void;
    const begun = new Promise<void>((resolve) => (began = resolve));
    const done = system.database.withConnection(async (db) => {
      await db.execute(sql`BEGIN`);
      await db.execute(sql`SELECT pg_current_xact_id()`);
      began();
      await released;
      await db.execute(sql`COMMIT`);
    });
    await Promise.race([begun, done]);
    return async () => {
      release();
      await done;
    };
  }

  const changes = async (query: string) => (await (await fetch(`${system.serviceUrls.orders}/orders/changes?${query}`)).json()) as { updated: { number: string }[]; next: string; held?: true };
  const feedReads = async () => (await system.stats('orders'))['GET /orders/changes'] ?? 0;

  it('the feed says held while a change waits behind it, and gives the change once it has finished', async () => {
    const user = `held-${randomUUID()}`;
    const { next: head } = await changes(`userId=${user}&head=1`);
    const finish = await olderTransaction();
    let number: string;
    try {
      number = await placeOrder(system, user);
      const during = await changes(`userId=${user}&since=${head}`);
      expect(during.updated).toEqual([]);
      expect(during.held).toBe(true);
    } finally {
      await finish();
    }
    const after = await changes(`userId=${user}&since=${head}`);
    expect(after.updated.map((o) => o.number)).toEqual([number]);
    expect(after.held).toBeUndefined();
  });

  it('a subscription delivers a held change once the older transaction has finished, with no notice after it', async () => {
    const user = `held-${randomUUID()}`;
    await system.gql('{ viewer { id } }', {}, { as: user });
    const client = wsClient(system.url, { Authorization: `Bearer ${await signDevToken({ sub: user })}` });
    clients.push(client);
    const reads = await feedReads();
    const sub = collect(client, { query: ORDER_EVENTS });
    await waitUntil(async () => (await feedReads()) > reads, { what: 'the subscription to read where its feed stands' });

    const finish = await olderTransaction();
    let number: string;
    try {
      const before = await feedReads();
      number = await placeOrder(system, user);
      // The notice came and the stream read the feed, which held the change back.
      await waitUntil(async () => (await feedReads()) > before, { what: 'the stream to read the feed after the notice' });
    } finally {
      await finish();
    }
    await sub.until(() => sub.results.some((r) => (r.data as any)?.orderEvents?.order?.number === number), 15_000);
  });
});
