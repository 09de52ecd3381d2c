import { rmSync } from 'node:fs';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The same allowlist on WebSocket as on HTTP (design.md §3), with the real graphql-ws client.
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name } } } }');
const ME = operation('Me', 'query', 'query Me { viewer { id name } }');

let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'app-1.0.0.json': [CATALOG, ME] });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const wsUrl = () => system.url.replace(/^http/, 'ws');
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

function connect(connectionParams?: Record<string, unknown>, onClose?: (event: { code: number }) => void): Client {
  const client = createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    // Keep one socket across operations, so "the socket stays usable" is about the same socket.
    lazyCloseTimeout: 60_000,
    on: onClose ? { closed: (e) => onClose(e as { code: number }) } : {},
    // Apollo Kotlin's wire format: a hash-only subscribe has no `query` key at all. The client
    // validates its messages before this replacer runs, so the test passes '' and drops it here.
    jsonMessageReplacer: (key, value) => (key === 'query' && value === '' ? undefined : value),
  });
  clients.push(client);
  return client;
}

/** Runs one operation; resolves with its results, or rejects with the `error` message's payload. */
function run(client: Client, payload: Record<string, unknown>): Promise<ExecutionResult[]> {
  return new Promise((resolve, reject) => {
    const results: ExecutionResult[] = [];
    client.subscribe({ query: '', ...payload }, { next: (r) => void results.push(r as ExecutionResult), error: reject, complete: () => resolve(results) });
  });
}

const hashOnly = (op: { id: string; name: string }, variables: Record<string, unknown> = {}) => ({
  operationName: op.name,
  variables,
  extensions: { persistedQuery: { version: 1, sha256Hash: op.id } },
});

describe('graphql-ws with persisted operations (NODE_ENV=production, require)', () => {
  it('runs a subscribe carrying only the hash, no query, as Apollo Kotlin sends it', async () => {
    const [result] = await run(connect(), hashOnly(CATALOG, { first: 2 }));
    expect(result!.errors).toBeUndefined();
    expect((result!.data as any).products.edges).toHaveLength(2);
  });

  it('authenticates from connection_init and resolves the viewer', async () => {
    const client = connect({ Authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` });
    const [result] = await run(client, hashOnly(ME));
    expect((result!.data as any).viewer.name).toBe('Demo User');
  });

  it('refuses query text with an error for that operation, and the socket stays usable', async () => {
    let closed = false;
    const client = connect(undefined, () => (closed = true));
    await expect(run(client, { query: '{ products(first: 1) { edges { node { name } } } }' })).rejects.toEqual([
      expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } }),
    ]);
    const [result] = await run(client, hashOnly(CATALOG, { first: 1 }));
    expect((result!.data as any).products.edges).toHaveLength(1);
    expect(closed).toBe(false);
  });

  it('refuses an unknown hash with PERSISTED_QUERY_NOT_IN_LIST, and the socket stays usable', async () => {
    const client = connect();
    const unknown = 'c'.repeat(64);
    await expect(run(client, hashOnly({ id: unknown, name: 'Gone' }))).rejects.toEqual([
      { message: `Persisted query '${unknown}' not found in the persisted query list`, extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } },
    ]);
    const [result] = await run(client, hashOnly(CATALOG, { first: 1 }));
    expect((result!.data as any).products.edges).toHaveLength(1);
  });

  it('refuses introspection text', async () => {
    await expect(run(connect(), { query: '{ __schema { types { name } } }' })).rejects.toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });

  it('closes the socket with 4403 when connection_init carries a bad token', async () => {
    const code = await new Promise<number>((resolve) => {
      const client = connect({ authorization: 'Bearer not-a-token' }, (e) => resolve(e.code));
      void run(client, hashOnly(CATALOG)).catch(() => {});
    });
    expect(code).toBe(4403);
  });
});
