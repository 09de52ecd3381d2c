import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { createInProcessBus } from '../../src/bus/index.js';
import { createDatabase } from '../../src/db/index.js';
import { serviceNames, startReferenceServices, type ServiceName } from '../../src/services/startReferenceServices.js';

// The downstream side of the benchmark, in its own process (pinned to the load generator's core):
// the real reference services on in-memory PGlite with the demo data, each behind a proxy that
// records the first answer to every distinct request and replays it afterwards. The BFF thus
// talks real HTTP to real answers, and it, not PGlite, is what saturates. The proxy can delay
// every answer (S5) and counts requests per route (what the BFF actually called).
//
// Prints one JSON line `{"urls":{...},"control":"http://..."}` once listening.
// Control: GET /stats → {"users":{"GET /users?ids":n,...},...}; POST /delay?ms=2;
// POST /received/start, POST /received/stop, GET /received → [{service,method,url,body},...]: the
// requests received in between (at most 1,000; nothing is recorded otherwise).

interface Recorded {
  status: number;
  contentType: string;
  body: Buffer;
}

const database = await createDatabase({ dataDir: 'memory://' });
const bus = createInProcessBus();
const services = await startReferenceServices({ database, bus, seed: true });

let delayMs = 0;
/** The requests the proxies received while recording (POST /received/start … /stop), in order, at most 1,000: what one BFF request called. */
const received: { service: ServiceName; method: string; url: string; body: string }[] = [];
let recording = false;
const counts: Record<ServiceName, Record<string, number>> = { users: {}, catalog: {}, orders: {}, notifications: {} };

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** The label the BFF's metrics use too: `GET /products?ids`, `GET /orders`, `POST /users/ensure`. */
function routeOf(method: string, url: string) {
  const [path, query] = url.split('?');
  return `${method} ${path}${query?.startsWith('ids=') ? '?ids' : ''}`;
}

async function startMemoizingProxy(name: ServiceName, target: string) {
  const recorded = new Map<string, Promise<Recorded>>();
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const route = routeOf(method, url);
      counts[name][route] = (counts[name][route] ?? 0) + 1;
      if (recording && received.length < 1000) received.push({ service: name, method, url, body: body.toString('utf8') });
      const key = `${method} ${url} ${body.toString('utf8')}`;
      let answer = recorded.get(key);
      if (!answer) {
        answer = (async () => {
          const response = await request(target + url, {
            method: method as 'GET',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: method === 'GET' ? undefined : body,
          });
          return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? 'application/json'), body: Buffer.from(await response.body.arrayBuffer()) };
        })();
        recorded.set(key, answer);
      }
      const { status, contentType, body: bytes } = await answer;
      if (delayMs > 0) await sleep(delayMs);
      res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
      res.end(bytes);
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'PROXY', message: String(error) }));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const urls = {} as Record<ServiceName, string>;
for (const name of serviceNames) urls[name] = await startMemoizingProxy(name, services.urls[name]!);

const control = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/delay') {
    delayMs = Number(url.searchParams.get('ms') ?? 0);
    res.writeHead(204).end();
    return;
  }
  if (req.method === 'POST' && (url.pathname === '/received/start' || url.pathname === '/received/stop')) {
    recording = url.pathname === '/received/start';
    if (recording) received.length = 0;
    res.writeHead(204).end();
    return;
  }
  if (url.pathname === '/received') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received));
    return;
  }
  if (url.pathname === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    return;
  }
  res.writeHead(404).end();
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ urls, control: `http://127.0.0.1:${(control.address() as AddressInfo).port}` })}\n`);

process.once('SIGTERM', () => {
  void services
    .stop()
    .then(() => database.close())
    .finally(() => process.exit(0));
});
