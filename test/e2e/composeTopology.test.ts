import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { parse } from 'yaml';
import { signDevToken } from '../../src/auth/index.js';
import { encodeSyncToken, syncScope } from '../../src/bff/sync/syncToken.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { buildProject } from '../support/buildProject.js';
import { freePort, startNode, type RunningProcess } from '../support/processes.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { collect, wsClient } from '../support/wsClient.js';

// docker-compose.yml's topology outside Docker: every process of the image that compose starts
// (the reference services, two BFFs), each with exactly the environment compose gives it, read from
// docker-compose.yml so the two cannot drift. Only what Docker itself provides is translated:
// container host names become 127.0.0.1 (the machine's PostgreSQL and Redis), container ports
// free host ports (PORT / <SERVICE>_PORT / METRICS_PORT, which compose leaves at their defaults), and the
// database is a throwaway one instead of `mobile_bff`.
const withServer = process.env.DATABASE_URL ? describe : describe.skip;

interface ComposeService {
  command?: string[];
  build?: unknown;
  environment?: Record<string, string | number>;
}

/** compose's `${VAR:-default}` and `${VAR}` against the operator's environment. */
const interpolate = (value: string, env: Record<string, string | undefined>) =>
  value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_m, name: string, fallback?: string) => env[name] || fallback || '');

withServer("docker-compose.yml's topology, outside Docker", () => {
  const compose = parse(readFileSync(join(projectRoot(), 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  /** The processes of our image that compose runs, by compose service name. */
  const ours = Object.entries(compose.services).filter(([, s]) => s.build && s.command);
  const processes = new Map<string, RunningProcess>();
  const clients: Client[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let jwks: Server;
  let privateJwk: JWK;
  const bffUrls: string[] = [];
  let ordersUrl: string;

  beforeAll(async () => {
    await buildProject();
    database = await createTestDatabase(process.env.DATABASE_URL!);
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [publicJwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));

    // What the operator exports before `docker compose up` (the header of docker-compose.yml).
    const operatorEnv = { AUTH_JWKS_URL: `http://127.0.0.1:${(jwks.address() as { port: number }).port}/jwks.json`, AUTH_ISSUER: 'https://issuer.test', AUTH_AUDIENCE: 'mobile-bff' };
    const hostPorts = new Map<string, number>();
    for (const [name] of ours) hostPorts.set(name, await freePort());
    // Each BFF container has its own metrics port (9464 in production); on one machine they need two.
    const metricsPorts = new Map<string, number>();
    for (const [name] of ours) metricsPorts.set(name, await freePort());
    const database_ = new URL(database.url);
    /** Docker's part: service host names and container ports to this machine. */
    const translate = (value: string) =>
      value
        .replace(/^(postgres(?:ql)?:\/\/[^@]*@)postgres:5432\/mobile_bff$/, `$1127.0.0.1:5432${database_.pathname}`)
        .replace(/^redis:\/\/redis:6379$/, 'redis://127.0.0.1:6379')
        .replace(/^http:\/\/([\w-]+):\d+$/, (url, host: string) => (hostPorts.has(host) ? `http://127.0.0.1:${hostPorts.get(host)}` : url));

    const start = (name: string, service: ComposeService) => {
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(service.environment ?? {})) env[key] = translate(interpolate(String(value), operatorEnv));
      // The container's listening port, mapped to a free host port.
      if (service.command!.includes('dist/src/main.js')) {
        env.PORT = String(hostPorts.get(name));
        env.METRICS_PORT = String(metricsPorts.get(name));
      }
      else env[`${service.command![2]!.toUpperCase()}_PORT`] = String(hostPorts.get(name));
      env.HOST = '127.0.0.1';
      const [, script, ...args] = service.command!;
      const running = startNode(script!, args, env);
      processes.set(name, running);
      return running;
    };
    const services = ours.filter(([, s]) => !s.command!.includes('dist/src/main.js'));
    const bffs = ours.filter(([, s]) => s.command!.includes('dist/src/main.js'));
    expect(services.map(([n]) => n)).toEqual(expect.arrayContaining(['users', 'catalog', 'orders']));
    expect(bffs).toHaveLength(2);
    // Seeding runs one service at a time, as compose's health checks order them.
    for (const [name, service] of services) await start(name, service).waitFor(new RegExp(`${name} service listening`), 120_000);
    ordersUrl = `http://127.0.0.1:${hostPorts.get('orders')}`;
    for (const [name, service] of bffs) bffUrls.push((await start(name, service).waitFor(/GraphQL: (http:\/\/\S+\/graphql)/, 120_000))[1]!);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all([...processes.values()].map((p) => p.stop()));
    jwks?.close();
    await database?.drop();
  });

  it('gives the services and the BFFs the same bus', () => {
    const busOf = (s: ComposeService) => s.environment?.REDIS_URL;
    const buses = new Set(ours.map(([, s]) => busOf(s)));
    expect([...buses]).toEqual(['redis://redis:6379']);
  });

  it("delivers an order's change to subscribers on both BFFs at once (not at the 60 s resync)", async () => {
    const token = await signDevToken({ sub: 'demo', key: { jwk: privateJwk, issuer: 'https://issuer.test', audience: 'mobile-bff' } });
    const firstParty = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; name: string }[] };
    const orderEvents = firstParty.operations.find((o) => o.name === 'OrderEvents')!;
    // Where the demo user's feed stands now, so no subscriber can miss the first change however
    // long its stream takes to open.
    const head = (await (await fetch(`${ordersUrl}/orders/changes?userId=demo&head=1&positions=1`)).json()) as { next: string };
    const since = encodeSyncToken(syncScope('orders', 'demo'), head.next);
    const list = (await (await fetch(`${ordersUrl}/orders?userId=demo&limit=1`)).json()) as { items: { number: string }[] };
    const number = list.items[0]!.number;

    const subscribers = bffUrls.map((url) => {
      const client = wsClient(url, { Authorization: `Bearer ${token}` });
      clients.push(client);
      return collect(client, { query: '', operationName: 'OrderEvents', variables: { since }, extensions: { persistedQuery: { version: 1, sha256Hash: orderEvents.id } } } as never);
    });
    const statuses = (s: (typeof subscribers)[number]) => s.results.map((r) => r.data?.orderEvents?.order.status);
    const setStatus = async (status: string) => {
      const response = await fetch(`${ordersUrl}/orders/${number}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
      expect(response.status).toBe(200);
    };

    // The first change may reach a stream by its first read of the feed; once it has arrived,
    // the second can only arrive by a notice on the bus (or by the resync, a minute later).
    await setStatus('CONFIRMED');
    for (const s of subscribers) await s.until(() => statuses(s).includes('CONFIRMED'), 20_000);
    const changed = Date.now();
    await setStatus('SHIPPED');
    const latencies = await Promise.all(subscribers.map(async (s) => (await s.until(() => statuses(s).includes('SHIPPED'), 20_000), Date.now() - changed)));
    process.stdout.write(`compose topology: order change to subscriber on bff-1 ${latencies[0]} ms, on bff-2 ${latencies[1]} ms\n`);
    for (const s of subscribers) expect(statuses(s)).toEqual(['CONFIRMED', 'SHIPPED']);
  }, 120_000);
});
