import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, relative } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { signDevToken } from '../../src/auth/index.js';
import { buildImageLayout, type ImageLayout } from '../support/buildImageLayout.js';
import { freePort, startNode, type RunningProcess } from '../support/processes.js';
import { createTestDatabase } from '../support/testDatabase.js';

// The image as .ci/Dockerfile builds it (install, build, prune dev dependencies, copy into the
// final stage), without Docker, and the production topology started from it: the services as
// docker-compose.yml starts them, the BFF with the image's own ENV and CMD. Needs PostgreSQL
// (the production topology does), so it runs in CI's second pass (DATABASE_URL set).
const withServer = process.env.DATABASE_URL ? describe : describe.skip;

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

withServer('the production image', () => {
  let layout: ImageLayout;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let jwks: Server;
  let privateJwk: JWK;
  let services: RunningProcess | undefined;
  let bff: RunningProcess | undefined;
  let bffUrl: string;

  beforeAll(async () => {
    layout = await buildImageLayout();
    process.stdout.write(`image layout built: ${layout.steps.map((s) => `${s.run} ${(s.ms / 1000).toFixed(1)} s`).join('; ')}\n`);
    database = await createTestDatabase(process.env.DATABASE_URL!);
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  }, 900_000);

  afterAll(async () => {
    await bff?.stop();
    await services?.stop();
    jwks?.close();
    await database?.drop();
    layout?.remove();
  });

  it('holds production dependencies only', () => {
    const modules = join(layout.dir, 'node_modules');
    expect(existsSync(join(modules, 'graphql-yoga'))).toBe(true);
    for (const dev of ['typescript', 'jest', 'playwright-core', '@graphql-codegen/cli']) expect(existsSync(join(modules, dev))).toBe(false);
    expect(layout.env.NODE_ENV).toBe('production');
    // As `npm start` runs it (package.json): the BFF's young-generation size.
    expect(layout.env.NODE_OPTIONS).toBe('--max-semi-space-size=32');
    expect(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start).toMatch(/^node --max-semi-space-size=32 /);
    expect(layout.cmd).toEqual(['node', 'dist/src/main.js']);
  });

  it('loads every module of dist/src with what the image has', async () => {
    // Entry points start things on import; every other module only defines them.
    const modules = jsFiles(join(layout.dir, 'dist/src'))
      .map((f) => relative(layout.dir, f))
      .filter((f) => !/(^|\/)main\.js$|Cli\.js$/.test(f));
    expect(modules.length).toBeGreaterThan(50);
    const script = join(layout.dir, 'load-all.mjs');
    writeFileSync(script, `${modules.map((m) => `await import('./${m}');`).join('\n')}\nprocess.stdout.write('all ${modules.length} modules loaded\\n');\n`);
    const loader = startNode('load-all.mjs', [], { NODE_ENV: 'production' }, { cwd: layout.dir });
    const code = await loader.exited;
    expect(loader.output()).toContain(`all ${modules.length} modules loaded`);
    expect(code).toBe(0);
  }, 60_000);

  it('starts the services and the BFF (image CMD, production mode), which is ready and answers a persisted operation by hash', async () => {
    const ports = { users: await freePort(), catalog: await freePort(), orders: await freePort() };
    // As docker-compose.yml runs them: `node dist/src/services/main.js <name> --seed`, one process here for the three.
    services = startNode('dist/src/services/main.js', ['users', 'catalog', 'orders', '--seed'], {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      USERS_PORT: String(ports.users),
      CATALOG_PORT: String(ports.catalog),
      ORDERS_PORT: String(ports.orders),
    }, { cwd: layout.dir });
    await services.waitFor(/orders service listening/, 120_000);

    const port = await freePort();
    const [script, ...args] = layout.cmd.slice(1);
    bff = startNode(script!, args, {
      ...layout.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(await freePort()),
      DATABASE_URL: database.url,
      USERS_URL: `http://127.0.0.1:${ports.users}`,
      CATALOG_URL: `http://127.0.0.1:${ports.catalog}`,
      ORDERS_URL: `http://127.0.0.1:${ports.orders}`,
      AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`,
      AUTH_ISSUER: 'https://issuer.test',
      AUTH_AUDIENCE: 'mobile-bff',
    }, { cwd: layout.dir });
    [, bffUrl] = (await bff.waitFor(/GraphQL: (http:\/\/\S+\/graphql)/, 120_000)) as unknown as [string, string];

    const ready = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(ready.status).toBe(200);

    const manifest = JSON.parse(readFileSync(join(layout.dir, 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; name: string }[] };
    const home = manifest.operations.find((o) => o.name === 'Home')!;
    const token = await signDevToken({ sub: 'demo', key: { jwk: privateJwk, issuer: 'https://issuer.test', audience: 'mobile-bff' } });
    const response = await fetch(bffUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ operationName: 'Home', variables: { first: 3 }, extensions: { persistedQuery: { version: 1, sha256Hash: home.id } } }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.name).toBe('Demo User');
    expect(body.data.products.edges).toHaveLength(3);
  }, 300_000);

  it('stops both on SIGTERM with exit code 0', async () => {
    expect(await bff!.stop('SIGTERM')).toBe(0);
    expect(await services!.stop('SIGTERM')).toBe(0);
  }, 60_000);
});
