import { rmSync } from 'node:fs';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { openRawSocket } from '../support/rawSocket.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// App versions (design.md §14): MIN_CLIENT_VERSIONS refuses older apps with UPGRADE_REQUIRED, and
// SUNSET_CLIENT_VERSIONS announces a retirement, on every transport, from the headers Apollo
// clients send (apollographql-client-name / -version).
const CATALOG = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name } } } }');
const EVENTS = operation('OrderEvents', 'subscription', 'subscription OrderEvents($since: SyncToken) { orderEvents(since: $since) { syncToken order { number } } }');
const CHANGES = operation('OrderChanges', 'query', 'query OrderChanges { viewer { orderChanges(first: 1) { syncToken } } }');

const SUNSET = '2099-03-01';
let dir: string;
let system: TestSystem;
beforeAll(async () => {
  dir = writeManifests({ 'shop-ios-4.0.0.json': [CATALOG, EVENTS], 'shop-ios-4.1.0.json': [CATALOG, EVENTS, CHANGES], 'shop-ios-4.2.0.json': [CATALOG, EVENTS], 'shop-android-4.1.0.json': [CATALOG] });
  system = await startTestSystem({
    PERSISTED_QUERIES_DIR: dir,
    PERSISTED_OPERATIONS: 'require',
    MIN_CLIENT_VERSIONS: 'shop-ios=4.1.0,shop-android=4.1.0',
    SUNSET_CLIENT_VERSIONS: `shop-ios=4.1.9@${SUNSET}`,
  });
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** What Apollo Kotlin / iOS send with every request. */
const apollo = (name: string, version: string) => ({ 'apollographql-client-name': name, 'apollographql-client-version': version });
const byHash = (op: { id: string; name: string }, variables: Record<string, unknown> = {}) => ({
  operationName: op.name,
  variables,
  extensions: { persistedQuery: { version: 1, sha256Hash: op.id } },
});

async function post(headers: Record<string, string>, body: unknown = byHash(CATALOG, { first: 2 })) {
  const response = await fetch(system.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { response, body: (await response.json()) as { data?: any; errors?: any[]; extensions?: any } };
}

async function get(headers: Record<string, string>, op = CATALOG, variables: Record<string, unknown> = { first: 2 }) {
  const url = new URL(system.url);
  url.searchParams.set('operationName', op.name);
  url.searchParams.set('variables', JSON.stringify(variables));
  url.searchParams.set('extensions', JSON.stringify({ persistedQuery: { version: 1, sha256Hash: op.id } }));
  const response = await fetch(url, { headers: { accept: 'application/graphql-response+json, application/json', 'apollo-require-preflight': 'true', ...headers } });
  return { response, body: (await response.json()) as { data?: any; errors?: any[]; extensions?: any } };
}

function expectUpgradeRequired({ response, body }: Awaited<ReturnType<typeof post>>, minimumVersion: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  expect(body).not.toHaveProperty('data');
  expect(body.errors).toEqual([expect.objectContaining({ extensions: { code: 'UPGRADE_REQUIRED', minimumVersion } })]);
  expect(body.errors![0].message).toMatch(new RegExp(`update the app to version ${minimumVersion.replace(/\./g, '\\.')} or later`));
}

function expectSunset({ response, body }: Awaited<ReturnType<typeof post>>) {
  expect(response.status).toBe(200);
  expect(body.data.products.edges).toHaveLength(2);
  expect(body.extensions).toEqual(expect.objectContaining({ sunset: SUNSET }));
  expect(response.headers.get('sunset')).toBe('Sun, 01 Mar 2099 00:00:00 GMT');
  // RFC 9745: a structured-field date, no later than the sunset.
  const deprecation = response.headers.get('deprecation');
  expect(deprecation).toMatch(/^@\d+$/);
  expect(Number(deprecation!.slice(1))).toBeLessThanOrEqual(Date.parse(`${SUNSET}T00:00:00Z`) / 1000);
}

function expectPlain({ response, body }: Awaited<ReturnType<typeof post>>) {
  expect(response.status).toBe(200);
  expect(body.errors).toBeUndefined();
  expect(body.data.products.edges).toHaveLength(2);
  expect(body.extensions?.sunset).toBeUndefined();
  expect(response.headers.get('sunset')).toBeNull();
  expect(response.headers.get('deprecation')).toBeNull();
}

describe('the minimum version over HTTP', () => {
  it('refuses a POST from a version below the minimum with UPGRADE_REQUIRED and the lowest version served', async () => {
    expectUpgradeRequired(await post(apollo('shop-ios', '4.0.0')), '4.1.0');
    expectUpgradeRequired(await post(apollo('shop-android', '4.0.9')), '4.1.0');
  });

  it('refuses a GET by hash the same way, and the refusal is not cacheable', async () => {
    const refused = await get(apollo('shop-ios', '4.0.0'));
    expectUpgradeRequired(refused, '4.1.0');
    expect(refused.response.headers.get('cache-control')).toBe('private, no-cache, must-revalidate');
  });

  it('refuses a pre-release of the minimum version', async () => {
    expectUpgradeRequired(await post(apollo('shop-ios', '4.1.0-beta.2')), '4.1.0');
  });

  it('serves the minimum version and above', async () => {
    expectSunset(await post(apollo('shop-ios', '4.1.0')));
    expectPlain(await post(apollo('shop-ios', '4.2.0')));
    expectPlain(await post(apollo('shop-android', '4.1.0')));
    expectPlain(await post(apollo('shop-android', '5.0.0')));
  });

  it('lets unknown and missing client names through, and versions it cannot read', async () => {
    expectPlain(await post(apollo('partner-app', '0.0.1')));
    expectPlain(await post({}));
    expectPlain(await post({ 'apollographql-client-name': 'shop-ios' }));
    expectPlain(await post(apollo('shop-ios', 'nightly')));
  });

  it('says that answers vary by app version, so a shared cache cannot hand one app another\'s answer', async () => {
    const { response } = await get(apollo('shop-ios', '4.2.0'));
    expect(response.headers.get('vary')).toMatch(/apollographql-client-name, apollographql-client-version/);
  });
});

describe('a retiring version (SUNSET_CLIENT_VERSIONS)', () => {
  it('gets Deprecation and Sunset headers and extensions.sunset on POST', async () => {
    expectSunset(await post(apollo('shop-ios', '4.1.9')));
  });

  it('gets them on GET by hash', async () => {
    expectSunset(await get(apollo('shop-ios', '4.1.0')));
  });

  it('does not get them once past the retiring range', async () => {
    expectPlain(await get(apollo('shop-ios', '4.1.10')));
  });
});

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

function connect(headers: Record<string, string>, connectionParams?: Record<string, unknown>): Client {
  const client = createClient({
    url: system.url.replace(/^http/, 'ws'),
    // Apollo iOS and Apollo Kotlin send their name and version as headers of the WebSocket upgrade.
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers });
      }
    },
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    lazyCloseTimeout: 60_000,
    // Apollo Kotlin's wire format: no `query` key at all when sending by hash.
    jsonMessageReplacer: (key, value) => (key === 'query' && value === '' ? undefined : value),
  });
  clients.push(client);
  return client;
}

/** Runs one operation to its end, or until `take` results; rejects with the `error` message's payload. */
function run(client: Client, payload: Record<string, unknown>, take = Infinity): Promise<ExecutionResult[]> {
  return new Promise((resolve, reject) => {
    const results: ExecutionResult[] = [];
    const stop = client.subscribe(
      { query: '', ...payload },
      {
        next: (r) => {
          if (results.length >= take) return;
          results.push(r as ExecutionResult);
          if (results.length >= take) {
            stop();
            resolve(results);
          }
        },
        error: reject,
        complete: () => resolve(results),
      },
    );
  });
}

/** A sync token before the demo user's last orders: `orderEvents(since:)` replays what came after at once. */
async function earlyToken(): Promise<string> {
  const { body } = await post({ authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` }, byHash(CHANGES));
  return body.data.viewer.orderChanges.syncToken;
}

describe('the gate and the sunset over WebSocket', () => {
  it('refuses each operation of an old version with an error carrying UPGRADE_REQUIRED, and the socket stays open', async () => {
    let closed = false;
    const client = connect(apollo('shop-ios', '4.0.0'));
    client.on('closed', () => (closed = true));
    await expect(run(client, byHash(CATALOG, { first: 2 }))).rejects.toEqual([
      expect.objectContaining({ message: expect.stringMatching(/update the app/), extensions: { code: 'UPGRADE_REQUIRED', minimumVersion: '4.1.0' } }),
    ]);
    await expect(run(client, byHash(EVENTS))).rejects.toEqual([expect.objectContaining({ extensions: { code: 'UPGRADE_REQUIRED', minimumVersion: '4.1.0' } })]);
    expect(closed).toBe(false);
  });

  it('takes the client name and version from connection_init when the upgrade request has none', async () => {
    const client = connect({}, { ...apollo('shop-ios', '4.0.0') });
    await expect(run(client, byHash(CATALOG, { first: 2 }))).rejects.toEqual([expect.objectContaining({ extensions: { code: 'UPGRADE_REQUIRED', minimumVersion: '4.1.0' } })]);
  });

  it('puts extensions.sunset on every result of a retiring version, subscription events included', async () => {
    const since = await earlyToken();
    const client = connect(apollo('shop-ios', '4.1.0'), { Authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` });
    const [query] = await run(client, byHash(CATALOG, { first: 2 }));
    expect(query!.extensions).toEqual({ sunset: SUNSET });
    expect((query!.data as any).products.edges).toHaveLength(2);
    const events = await run(client, byHash(EVENTS, { since }), 3);
    expect(events).toHaveLength(3);
    for (const event of events) expect(event.extensions).toEqual({ sunset: SUNSET });
  });

  it('serves a current version without a notice', async () => {
    const [query] = await run(connect(apollo('shop-ios', '4.2.0')), byHash(CATALOG, { first: 2 }));
    expect(query!.errors).toBeUndefined();
    expect(query!.extensions).toBeUndefined();
  });
});

describe('the gate and the sunset over the legacy graphql-ws subprotocol (Apollo iOS, Apollo Kotlin 4)', () => {
  it('refuses an old version\'s operation and marks a retiring version\'s results, from the upgrade headers', async () => {
    const old = await openRawSocket(system.url, 'graphql-ws', apollo('shop-ios', '4.0.0'));
    const retiring = await openRawSocket(system.url, 'graphql-ws', apollo('shop-ios', '4.1.0'));
    try {
      for (const socket of [old, retiring]) {
        socket.send({ type: 'connection_init' });
        socket.send({ id: '1', type: 'start', payload: byHash(CATALOG, { first: 1 }) });
      }
      expect((await old.next((m) => m.id === '1' && m.type === 'data')).payload).toEqual({
        errors: [expect.objectContaining({ extensions: { code: 'UPGRADE_REQUIRED', minimumVersion: '4.1.0' } })],
      });
      const served = await retiring.next((m) => m.id === '1' && m.type === 'data');
      expect(served.payload.extensions).toEqual({ sunset: SUNSET });
      expect(served.payload.data.products.edges).toHaveLength(1);
    } finally {
      old.close();
      retiring.close();
    }
  });
});

describe('the gate and the sunset over SSE', () => {
  async function sse(headers: Record<string, string>, body: unknown) {
    const controller = new AbortController();
    const response = await fetch(system.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub: 'demo' })}`, ...headers },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    return { response, controller };
  }

  it('refuses a subscription of an old version with UPGRADE_REQUIRED', async () => {
    const { response } = await sse(apollo('shop-ios', '4.0.0'), byHash(EVENTS));
    const text = await response.text();
    expect(text).toContain('"code":"UPGRADE_REQUIRED"');
    expect(text).toContain('"minimumVersion":"4.1.0"');
    expect(text).not.toContain('"data"');
  });

  it('streams a retiring version\'s events with extensions.sunset, under Deprecation and Sunset headers', async () => {
    const since = await earlyToken();
    const { response, controller } = await sse(apollo('shop-ios', '4.1.0'), byHash(EVENTS, { since }));
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(response.headers.get('sunset')).toBe('Sun, 01 Mar 2099 00:00:00 GMT');
    expect(response.headers.get('deprecation')).toMatch(/^@\d+$/);
    const reader = response.body!.getReader();
    let text = '';
    while ((text.match(/event: next/g) ?? []).length < 2) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const event of events) expect(event.extensions).toEqual({ sunset: SUNSET });
  });
});

describe('metrics by app version', () => {
  const sample = async (name: string) => (await system.bff.metrics.registry.getSingleMetric(name)!.get()).values;

  it('labels requests with the client names and versions the manifests name, every other one "other"', async () => {
    await post(apollo('shop-ios', '4.2.0'));
    for (let i = 0; i < 30; i++) await post(apollo(`random-${Math.random().toString(36).slice(2)}`, `${i}.0.0`));
    await post(apollo('shop-ios', '9.9.9'));
    const series = (await sample('bff_operations_total')).filter((v) => v.labels.operation === 'CatalogPage');
    const labels = new Set(series.map((v) => `${v.labels.client_name}@${v.labels.client_version}`));
    expect(labels).toContain('shop-ios@4.2.0');
    expect(labels).toContain('other@other');
    expect(labels).toContain('shop-ios@other');
    expect([...labels].filter((l) => l.startsWith('random-'))).toEqual([]);
  });

  it('counts the operations the gate refused and those answered with a sunset notice', async () => {
    await post(apollo('shop-ios', '4.0.0'));
    await post(apollo('shop-ios', '4.1.0'));
    const refused = await sample('bff_client_upgrade_required_total');
    expect(refused.find((v) => v.labels.client_name === 'shop-ios' && v.labels.client_version === '4.0.0')?.value).toBeGreaterThanOrEqual(1);
    const sunset = await sample('bff_client_sunset_responses_total');
    expect(sunset.find((v) => v.labels.client_name === 'shop-ios' && v.labels.client_version === '4.1.0')?.value).toBeGreaterThanOrEqual(1);
  });
});
