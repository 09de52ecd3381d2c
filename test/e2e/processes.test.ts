import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { signDevToken } from '../../src/auth/index.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { buildProject } from '../support/buildProject.js';
import { freePort, startNode, startServicesProcess, type RunningProcess } from '../support/processes.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createInProcessBus } from '../../src/bus/index.js';
import { createDatabase, type Database } from '../../src/db/index.js';
import { startReferenceServices, type ReferenceServices } from '../../src/services/startReferenceServices.js';
import { seededSnapshot, seededSnapshotDirectory } from '../../src/system/seededSnapshot.js';
import { startFaultProxy, type FaultProxy } from '../support/startFaultProxy.js';
import { waitUntil } from '../support/waitUntil.js';

// The real entry points as separate processes, built as `npm start` builds them.
const HOME_QUERY = '{ viewer { id name } products(first: 5) { edges { node { name price { amount currency } } } } }';
const ORDERS_QUERY = '{ viewer { orders(first: 50) { edges { node { number customer { name } lines { quantity product { name } } } } } } }';

async function post(url: string, query: string, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
}

beforeAll(buildProject, 200_000);

describe('npm start (embedded: PGlite, in-process services, development mode)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mobile-bff-start-'));
  let bff: RunningProcess | undefined;
  afterAll(async () => {
    await bff?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the GraphiQL URL and a dev token that answers the home query', async () => {
    bff = startNode('dist/src/main.js', [], { PORT: '0', DATA_DIR: dataDir });
    const [, url] = await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/);
    const [, token] = await bff.waitFor(/Authorization: Bearer (\S+)/);

    const page = await fetch(url!, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);

    const { status, body } = await post(url!, HOME_QUERY, token);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.name).toBe('Demo User');
    expect(body.data.products.edges).toHaveLength(5);
    expect(body.data.products.edges[0].node.price).toEqual({ amount: expect.any(Number), currency: 'EUR' });
  }, 90_000);

  it('stops on SIGTERM with exit code 0, and keeps its data and seeds nothing twice on restart', async () => {
    expect(await bff!.stop('SIGTERM')).toBe(0);
    bff = startNode('dist/src/main.js', [], { PORT: '0', DATA_DIR: dataDir });
    const [, url] = await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/);
    const { body } = await post(url!, ORDERS_QUERY, await signDevToken({ sub: 'demo' }));
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.orders.edges).toHaveLength(50);
    const all = await post(url!, '{ viewer { orders(first: 100) { edges { node { number } } } } }', await signDevToken({ sub: 'demo' }));
    expect(all.body.data.viewer.orders.edges).toHaveLength(60);
  }, 90_000);
});

describe('persisted-operation manifests checked against the schema', () => {
  const broken = operation('OldScreen', 'query', 'query OldScreen { products(first: 1) { edges { node { legacyRating } } } }');
  const good = operation('Catalog', 'query', 'query Catalog { products(first: 1) { edges { node { name } } } }');
  let dir: string;
  beforeAll(() => {
    dir = writeManifests({ 'shop-android-3.0.0.json': [good, broken] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const expected = new RegExp(`shop-android-3\\.0\\.0\\.json: operation OldScreen \\(${broken.id}\\) no longer validates against the schema: Cannot query field "legacyRating" on type "Product"`);

  it('npm run persisted:check passes on the repository manifests', async () => {
    const check = startNode('dist/src/bff/persisted/checkCli.js', [], {});
    expect(await check.exited).toBe(0);
    expect(check.output()).toMatch(/persisted operations in \d+ manifests .* validate against the schema/);
  });

  it('npm run persisted:check fails on an operation the schema no longer serves, naming file, operation, id and error', async () => {
    const check = startNode('dist/src/bff/persisted/checkCli.js', [], { PERSISTED_QUERIES_DIR: dir });
    expect(await check.exited).toBe(1);
    expect(check.output()).toMatch(expected);
  });

  it('the server refuses to start with the same message', async () => {
    const bff = startNode('dist/src/main.js', [], { PORT: '0', DATA_DIR: 'memory://', PERSISTED_QUERIES_DIR: dir });
    expect(await bff.exited).toBe(1);
    expect(bff.output()).toMatch(expected);
    expect(bff.output()).not.toMatch(/GraphiQL:/);
  }, 30_000);
});

describe('invalid configuration', () => {
  it('refuses to start, naming the variable and what was expected', async () => {
    const bad = startNode('dist/src/main.js', [], { PORT: 'abc', PERSISTED_OPERATIONS: 'maybe' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/PORT: expected an integer from 0 to 65535, got "abc"/);
    expect(bad.output()).toMatch(/PERSISTED_OPERATIONS: expected one of require, allowlist, off, got "maybe"/);
    expect(bad.output()).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('npm run services refuses to start without DATABASE_URL and says why', async () => {
    const services = startNode('dist/src/services/main.js', [], {});
    expect(await services.exited).toBe(1);
    expect(services.output()).toMatch(/DATABASE_URL: required/);
  }, 30_000);
});

// Separate processes cannot share embedded PGlite: this topology runs against the PostgreSQL server,
// i.e. in CI's second pass (DATABASE_URL set). The embedded pass checks production mode in process
// (test/bff/production.test.ts).
const withServer = process.env.DATABASE_URL ? describe : describe.skip;

withServer('production topology: services and BFF as separate processes, NODE_ENV=production', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let services: RunningProcess;
  let bff: RunningProcess;
  let jwks: Server;
  let privateJwk: JWK;
  let url: string;
  let metricsPort: number;

  beforeAll(async () => {
    database = await createTestDatabase(process.env.DATABASE_URL!);
    metricsPort = await freePort();
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const started = await startServicesProcess({ DATABASE_URL: database.url });
    services = started.services;
    bff = startNode('dist/src/main.js', [], {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      // Its own port for /metrics (9464 by default), free here: other test files run BFFs too.
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: database.url,
      ...started.serviceEnv,
      AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`,
      AUTH_ISSUER: 'https://issuer.test',
      AUTH_AUDIENCE: 'mobile-bff',
    });
    [, url] = (await bff.waitFor(/GraphQL: (http:\/\/\S+\/graphql)/)) as unknown as [string, string];
  }, 90_000);

  afterAll(async () => {
    await bff?.stop();
    await services?.stop();
    jwks?.close();
    await database?.drop();
  });

  const token = () => signDevToken({ sub: 'demo', key: { jwk: privateJwk, issuer: 'https://issuer.test', audience: 'mobile-bff' } });
  // Production runs persisted operations only: these come from the repository's first-party manifest.
  const firstParty = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; name: string }[] };
  const byHash = async (name: string, variables: Record<string, unknown>, bearer?: string) => {
    const op = firstParty.operations.find((o) => o.name === name)!;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify({ operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: op.id } } }),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } };
  };

  it('answers the home screen and the orders screen by hash, with a token from the identity provider', async () => {
    const home = await byHash('Home', { first: 5 }, await token());
    expect(home.body.errors).toBeUndefined();
    expect(home.body.data.viewer.name).toBe('Demo User');
    expect(home.body.data.products.edges).toHaveLength(5);
    const orders = await byHash('OrderList', { first: 50 }, await token());
    expect(orders.body.errors).toBeUndefined();
    expect(orders.body.data.viewer.orders.edges).toHaveLength(50);
  });

  it('refuses the development key', async () => {
    const { status, body } = await byHash('Home', { first: 5 }, await signDevToken({ sub: 'demo' }));
    expect(status).toBe(401);
    expect(body.errors![0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses query text, introspection included, and serves no GraphiQL', async () => {
    for (const query of [HOME_QUERY, '{ __schema { queryType { name } } }']) {
      const { status, body } = await post(url, query, await token());
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors![0].extensions.code).toBe('PERSISTED_QUERY_ID_REQUIRED');
    }
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });

  it('serves /metrics on METRICS_PORT only, never on the public port', async () => {
    expect((await fetch(url.replace(/\/graphql$/, '/metrics'))).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^bff_http_request_duration_seconds_count/m);
  });

  it('stops both processes with exit code 0 on SIGTERM', async () => {
    expect(await bff.stop('SIGTERM')).toBe(0);
    expect(await services.stop('SIGTERM')).toBe(0);
  });
});

describe('SIGTERM under load (npm start)', () => {
  // The catalog runs here, behind a proxy that makes every call take 300 ms, so that requests are
  // in flight when the signal arrives; users and orders run inside the BFF's process.
  let catalogDb: Database;
  let catalog: ReferenceServices;
  let slowCatalog: FaultProxy;
  let bff: RunningProcess;
  let url: string;
  let dataDir: string;
  beforeAll(async () => {
    // Both databases start from the seeded snapshot instead of initdb, migrations and seed
    // (seconds of WebAssembly each): the catalog's here, and the BFF process's from a copy of the
    // unpacked snapshot in its DATA_DIR (with CATALOG_URL set, npm start would make a new
    // database the long way: it keeps the snapshot for a whole system in process).
    catalogDb = await createDatabase({ dataDir: 'memory://', initialData: await seededSnapshot() });
    catalog = await startReferenceServices({ database: catalogDb, bus: createInProcessBus(), names: ['catalog'], seed: true });
    slowCatalog = await startFaultProxy(catalog.urls.catalog!);
    slowCatalog.inject({ kind: 'delay', ms: 300 });
    dataDir = mkdtempSync(join(tmpdir(), 'mobile-bff-sigterm-'));
    const snapshot = await seededSnapshotDirectory();
    if (snapshot) cpSync(snapshot, join(dataDir, 'pglite'), { recursive: true });
    bff = startNode('dist/src/main.js', [], {
      PORT: '0',
      DATA_DIR: dataDir,
      CATALOG_URL: slowCatalog.url,
      // Long enough that /ready and /health are both checked inside the window even on a busy machine.
      SHUTDOWN_DELAY_MS: '4000',
      RATE_LIMIT_PER_SECOND: '0',
    });
    [, url] = (await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/)) as unknown as [string, string];
  }, 90_000);
  afterAll(async () => {
    await bff?.stop('SIGKILL');
    await slowCatalog?.close();
    await catalog?.stop();
    await catalogDb?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails /ready first, finishes every in-flight request, closes WebSockets with 1001 and exits with 0', async () => {
    const base = url.replace(/\/graphql$/, '');
    // An open graphql-ws connection, with an operation run over it.
    let closeCode: number | undefined;
    const ws = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, onNonLazyError: () => {}, on: { closed: (event) => void (closeCode = (event as { code: number }).code) } });
    const viaSocket = await new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      ws.subscribe({ query: '{ products(first: 1) { edges { node { sku } } } }' }, { next: (r) => void (result = r), error: reject, complete: () => resolve(result) });
    });
    expect(viaSocket).toMatchObject({ data: { products: { edges: [{ node: { sku: expect.any(String) } }] } } });

    // A bounded load: 6 clients in a loop, each request slowed to 300 ms by the catalog.
    type Outcome = { started: number; ended: number; ok: boolean; failure?: string };
    const outcomes: Outcome[] = [];
    let sigtermAt = Infinity;
    let refused = false;
    const client = async () => {
      for (let i = 0; i < 200 && !refused; i++) {
        const started = Date.now();
        try {
          const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ products(first: 2) { edges { node { sku } } } }' }) });
          const body = (await response.json()) as { data?: { products?: { edges: unknown[] } }; errors?: unknown[] };
          const ok = response.status === 200 && !body.errors && body.data?.products?.edges.length === 2;
          outcomes.push({ started, ended: Date.now(), ok, ...(ok ? {} : { failure: `HTTP ${response.status} ${JSON.stringify(body)}` }) });
        } catch (error) {
          const code = (error as { cause?: { code?: string } }).cause?.code ?? String(error);
          // Refused: the listener is closed, the request never started. A request sent after SIGTERM
          // on a kept-alive connection the draining server closes at that instant is reset: also a
          // refusal (clients retry it on a new connection). Anything else failed mid-flight.
          if (code === 'ECONNREFUSED' || (code === 'ECONNRESET' && started > sigtermAt)) refused = true;
          else outcomes.push({ started, ended: Date.now(), ok: false, failure: code });
        }
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, client));

    // The load is flowing (every client has had an answer), so requests are in flight at the signal.
    await waitUntil(() => outcomes.length >= 6, { what: 'an answer for every client' });
    sigtermAt = Date.now();
    bff.child.kill('SIGTERM');
    // Readiness fails while requests are still served, so a load balancer stops routing here first.
    let readyStatus: number | undefined;
    for (let i = 0; i < 20 && readyStatus !== 503; i++) {
      readyStatus = await fetch(`${base}/ready`).then((r) => r.status, () => undefined);
      if (readyStatus !== 503) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(readyStatus).toBe(503);
    expect((await fetch(`${base}/health`)).status).toBe(200);

    await load;
    expect(await bff.exited).toBe(0);
    await ws.dispose();

    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    const inFlightAtSigterm = outcomes.filter((o) => o.started < sigtermAt && o.ended > sigtermAt);
    expect(inFlightAtSigterm.length).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.started > sigtermAt).length).toBeGreaterThan(0);
    expect(closeCode).toBe(1001);
    expect(bff.output()).not.toMatch(/\n\s+at /);
  }, 60_000);
});
