import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import mercurius from 'mercurius';
import { createSchema } from '../../src/bff/createSchema.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { createPeerContext } from './peers/createPeerContext.js';
import { readManifests } from './peers/readManifests.js';

// Baseline: Fastify 5 + Mercurius with graphql-jit (`jit: 1`: a query is compiled the second time
// it is seen) and its default parse/validate cache. Persisted queries: Mercurius's `prepared`
// provider reads `{ persisted: true, query: <hash> }`, not Apollo's format, and its `automatic`
// provider (Apollo's `extensions.persistedQuery`, APQ) fills an LRU from clients' text. What is
// used here is the custom provider its docs show ("Custom Persisted Queries": `automatic()` with
// another `getQueryFromHash`): Apollo's request format, bodies looked up in the same manifests the
// BFF serves, nothing saved from clients. The same SDL and resolvers (`createSchema`), the same
// DataLoaders and downstream calls (`createPeerContext`). Fastify's defaults otherwise (no logger).
// Env: USERS_URL, CATALOG_URL, ORDERS_URL, NOTIFICATIONS_URL. Prints `{"url":"http://..."}` once listening.

const peer = createPeerContext({ urls: { users: process.env.USERS_URL!, catalog: process.env.CATALOG_URL!, orders: process.env.ORDERS_URL!, notifications: process.env.NOTIFICATIONS_URL! } });
const store = readManifests(join(projectRoot(), 'persisted-queries'));

// As for the other servers: longer than the load generator's pauses between runs.
const app = Fastify({ keepAliveTimeout: 65_000 });
await app.register(mercurius, {
  schema: createSchema(),
  jit: 1,
  context: (request) => peer.contextFor(request.headers.authorization),
  persistedQueryProvider: {
    ...mercurius.persistedQueryDefaults.automatic(),
    getQueryFromHash: async (hash: string) => store.get(hash),
    saveQuery: async () => {},
  },
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/graphql` })}\n`);
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => peer.close())
    .finally(() => process.exit(0));
});
