import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { createYoga } from 'graphql-yoga';
import { createSchema } from '../../src/bff/createSchema.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { createPeerContext } from './peers/createPeerContext.js';
import { readManifests } from './peers/readManifests.js';

// Baseline: stock GraphQL Yoga 5 as its docs set it up — `createYoga` on node:http with its
// defaults (its plugins, its parse/validate cache, masked errors, GraphiQL on GET from a browser)
// and its official persisted-operations plugin, which takes Apollo's
// `extensions.persistedQuery.sha256Hash` and looks the body up in the same manifests the BFF
// serves (text is allowed too, as the BFF's `PERSISTED_OPERATIONS=off`). The same SDL and
// resolvers (`createSchema`), the same DataLoaders and downstream calls (`createPeerContext`).
// Nothing tuned: no access log, no metrics, no rate limit, no breaker — what a user gets.
// Env: USERS_URL, CATALOG_URL, ORDERS_URL, NOTIFICATIONS_URL. Prints `{"url":"http://..."}` once listening.

const peer = createPeerContext({ urls: { users: process.env.USERS_URL!, catalog: process.env.CATALOG_URL!, orders: process.env.ORDERS_URL!, notifications: process.env.NOTIFICATIONS_URL! } });
const store = readManifests(join(projectRoot(), 'persisted-queries'));

const yoga = createYoga({
  schema: createSchema(),
  context: ({ request }) => peer.contextFor(request.headers.get('authorization')),
  plugins: [
    usePersistedOperations({
      getPersistedOperation: (sha256Hash) => store.get(sha256Hash) ?? null,
      allowArbitraryOperations: true,
    }),
  ],
});

const server = createServer(yoga);
// Longer than the load generator's pauses between runs, as behind a load balancer: an idle
// connection closed by the server while a request is sent on it would count as a failed answer.
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void peer.close().finally(() => process.exit(0));
});
