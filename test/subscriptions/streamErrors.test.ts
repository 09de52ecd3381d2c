import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { signDevToken } from '../../src/auth/index.js';
import { placeOrder } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { collect, wsClient } from '../support/wsClient.js';

// Issue 13: errors of a subscription reach the client as every other error does, with a code
// from design.md §9. A `since` behind the purge horizon is SYNC_TOKEN_EXPIRED and a garbled one
// INVALID_SYNC_TOKEN, exactly as the orderChanges query answers them, over WebSocket and SSE.
const ORDER_EVENTS = 'subscription($since: SyncToken) { orderEvents(since: $since) { syncToken order { number status } } }';

let system: TestSystem;
let user: string;
let expiredToken: string;
beforeAll(async () => {
  system = await startTestSystem();
  // A token taken before an order of the user was deleted, whose tombstone is then purged.
  user = `expiry-${randomUUID()}`;
  const number = await placeOrder(system, user);
  const sync = await system.gql('{ viewer { orderChanges(since: null, first: 1000) { syncToken } } }', {}, { as: user });
  expiredToken = sync.body.data.viewer.orderChanges.syncToken;
  await system.database.db.execute(sql`DELETE FROM orders.orders WHERE number = ${number}`);
  await system.database.db.execute(sql`UPDATE orders.order_tombstones SET deleted_at = now() - interval '31 days' WHERE number = ${number}`);
  const purged = await fetch(`${system.serviceUrls.orders}/orders/changes/purge`, { method: 'POST' });
  expect(((await purged.json()) as { purged: number }).purged).toBe(1);
});
afterAll(() => system?.stop());

/** The codes a subscription ended with, from an `error` message or a `next` carrying errors. */
async function codesOverWebSocket(since: string): Promise<unknown[]> {
  const client = wsClient(system.url, { Authorization: `Bearer ${await signDevToken({ sub: user })}` });
  try {
    const sub = collect(client, { query: ORDER_EVENTS, variables: { since } });
    await sub.until(() => sub.error !== undefined || sub.results.some((r) => r.errors?.length)).catch(() => undefined);
    const errors = (Array.isArray(sub.error) ? sub.error : sub.results.flatMap((r) => r.errors ?? [])) as { message: string; extensions?: { code?: string } }[];
    return errors.map((e) => e.extensions?.code ?? `no code: ${e.message}`);
  } finally {
    await client.dispose();
  }
}

/** The whole SSE answer of a subscription that ends, as text. */
async function overSse(since: string): Promise<string> {
  const response = await fetch(system.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub: user })}` },
    body: JSON.stringify({ query: ORDER_EVENTS, variables: { since } }),
    signal: AbortSignal.timeout(10_000),
  });
  return response.text();
}

it('the query answers SYNC_TOKEN_EXPIRED for that token (the reference)', async () => {
  const { body } = await system.gql('query($s: SyncToken) { viewer { orderChanges(since: $s) { syncToken } } }', { s: expiredToken }, { as: user });
  expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['SYNC_TOKEN_EXPIRED']);
});

it('over WebSocket: SYNC_TOKEN_EXPIRED for a token behind the purge horizon', async () => {
  expect(await codesOverWebSocket(expiredToken)).toEqual(['SYNC_TOKEN_EXPIRED']);
});

it('over WebSocket: INVALID_SYNC_TOKEN for a garbled token', async () => {
  expect(await codesOverWebSocket('garbled-token')).toEqual(['INVALID_SYNC_TOKEN']);
});

it('over SSE: SYNC_TOKEN_EXPIRED for a token behind the purge horizon, and nothing of the service call', async () => {
  const text = await overSse(expiredToken);
  expect(text).toContain('"code":"SYNC_TOKEN_EXPIRED"');
  expect(text).not.toMatch(/answered 410|\/orders\/changes/);
});

it('over SSE: INVALID_SYNC_TOKEN for a garbled token', async () => {
  expect(await overSse('garbled-token')).toContain('"code":"INVALID_SYNC_TOKEN"');
});
