import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { rmSync } from 'node:fs';
import { writeManifests } from '../support/apolloManifest.js';
import { bearer, MOBILE_OPERATIONS, ORDER_EVENTS, orderSyncToken, placeOrderByHash } from '../support/mobileOperations.js';
import { setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Apollo's packages are CommonJS; jest's ESM loader cannot see their named exports, require can.
const require = createRequire(import.meta.url);
const { ApolloClient, HttpLink, InMemoryCache, gql } = require('@apollo/client/core') as typeof import('@apollo/client/core');
const { createPersistedQueryLink } = require('@apollo/client/link/persisted-queries') as typeof import('@apollo/client/link/persisted-queries');
const { generatePersistedQueryIdsFromManifest } = require('@apollo/persisted-query-lists') as typeof import('@apollo/persisted-query-lists');

// Web Apollo Client as it ships: its HttpLink subscribes over multipart HTTP
// (`multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json`), by hash through the
// persisted-query link, against the production mode (PERSISTED_OPERATIONS=require).
const manifest = { format: 'apollo-persisted-query-manifest' as const, version: 1 as const, operations: MOBILE_OPERATIONS };

let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'shop-web-1.0.0.json': MOBILE_OPERATIONS });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("Apollo Client's HttpLink receives an order's status change over multipart HTTP, by hash", async () => {
  const sub = `web-${randomUUID()}`;
  const number = await placeOrderByHash(system, sub);
  const since = await orderSyncToken(system, sub);
  const accepts: string[] = [];
  const link = createPersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => manifest })).concat(
    new HttpLink({
      uri: system.url,
      headers: { authorization: await bearer(sub) },
      fetch: (input, init) => {
        accepts.push(new Headers(init?.headers).get('accept') ?? '');
        return fetch(input, init);
      },
    }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  let subscription: { unsubscribe(): void } | undefined;
  const event = new Promise<any>((resolve, reject) => {
    subscription = client.subscribe({ query: gql(ORDER_EVENTS.body), variables: { since } }).subscribe({ next: resolve, error: reject });
  });
  await setOrderStatus(system, number, 'DELIVERED');
  const result = await event;
  subscription?.unsubscribe();
  client.stop();
  expect(accepts[0]).toMatch(/^multipart\/mixed;.*subscriptionSpec=1\.0/);
  expect(result.errors).toBeUndefined();
  expect(result.data.orderEvents.order).toEqual(expect.objectContaining({ number, status: 'DELIVERED' }));
});
