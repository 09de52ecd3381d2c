import { rmSync } from 'node:fs';
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { signDevToken } from '../../src/auth/index.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// PERSISTED_OPERATIONS=require (design.md §3, §11): Apollo iOS sends a subscription's full text,
// never its hash. Text runs when it is a subscription whose normalized text equals a manifest
// body; every other text stays refused, queries and mutations included.
const EVENTS = operation('OrderEvents', 'subscription', 'subscription OrderEvents($since: SyncToken) { orderEvents(since: $since) { syncToken order { number status } } }');
const UNLISTED = 'subscription Other { orderEvents { syncToken } }';
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage { products(first: 1) { edges { node { id name } } } }');

let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'app-1.0.0.json': [EVENTS, CATALOG] });
  system = await startTestSystem({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'require' }, { nodeEnv: 'production' });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

async function socket(): Promise<Client> {
  const client = createClient({
    url: system.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${await signDevToken({ sub: 'text-user' })}` },
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  return client;
}

/** The first message of an operation: its first result, or the error that ended it. */
function first(client: Client, payload: { query: string; variables?: Record<string, unknown> }): Promise<{ result?: any; error?: any }> {
  return new Promise((resolve) => {
    const stop = client.subscribe(payload, {
      next: (result) => (resolve({ result }), stop()),
      error: (error) => resolve({ error }),
      complete: () => resolve({}),
    });
  });
}

/** A reformatted copy of a manifest body: what a client printing the same document differently sends. */
const reformatted = (body: string) => body.replace(/\n\s*/g, ' ');

describe('a subscription sent as text in require mode', () => {
  it('runs over graphql-ws when its normalized text is a manifest body', async () => {
    // INVALID_SYNC_TOKEN comes from the resolver: the operation was admitted and executed.
    const { error } = await first(await socket(), { query: reformatted(EVENTS.body), variables: { since: 'garbage' } });
    expect(error).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'INVALID_SYNC_TOKEN' }) })]);
  });

  it('is refused over graphql-ws with PERSISTED_QUERY_ID_REQUIRED when no manifest has it', async () => {
    const { error } = await first(await socket(), { query: UNLISTED });
    expect(error).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });

  it('runs over SSE when its text is a manifest body, and is refused when not', async () => {
    const post = async (query: string) => {
      const response = await fetch(system.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub: 'text-user' })}` },
        body: JSON.stringify({ query, variables: { since: 'garbage' } }),
      });
      return { status: response.status, text: await response.text() };
    };
    const listed = await post(EVENTS.body);
    expect(listed.text).toContain('INVALID_SYNC_TOKEN');
    const unlisted = await post(UNLISTED);
    expect(unlisted.text).toContain('PERSISTED_QUERY_ID_REQUIRED');
    expect(unlisted.text).not.toContain('INVALID_SYNC_TOKEN');
  });
});

describe('other text in require mode', () => {
  it('refuses a query whose text is a manifest body, over HTTP and graphql-ws', async () => {
    const { status, body } = await system.gql(CATALOG.body);
    expect(status).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
    const { error } = await first(await socket(), { query: CATALOG.body });
    expect(error).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });

  it('refuses a subscription body sent as a query document with another operation beside it', async () => {
    const { error } = await first(await socket(), { query: `${EVENTS.body}\n${UNLISTED}`, variables: { since: 'garbage' } });
    expect(error).toEqual([expect.objectContaining({ extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } })]);
  });
});
