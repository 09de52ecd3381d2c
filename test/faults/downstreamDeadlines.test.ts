import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDownstreamClient } from '../../src/bff/downstream/createDownstreamClient.js';
import { DownstreamUnavailableError } from '../../src/bff/downstream/DownstreamErrors.js';
import { createMetrics } from '../../src/bff/metrics/createMetrics.js';

// The downstream client's deadlines against a real HTTP server that misbehaves in the ways undici's
// own timeouts do not catch: a body that trickles in small chunks, each well within the body
// timeout, forever. The call must end at its deadline (the service's timeout, or what is left of
// the request's budget), not when the service stops.

const TIMEOUT_MS = 1_500;
/** undici's timers tick every half second and the client's sweep every quarter: what a deadline may be late by, generously on a busy machine. */
const LATE_MS = 1_500;

let server: Server;
let url: string;
const trickling = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Several chunks, some split inside a multi-byte character: decoded once, whole.
      const body = Buffer.from(JSON.stringify({ name: 'Zoë’s “quoted” ☕ shop', items: Array.from({ length: 2000 }, (_, i) => i) }));
      let at = 0;
      const next = () => {
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, (at += 997)));
        setImmediate(next);
      };
      return next();
    }
    // Headers at once, then a byte every 50 ms, never the end.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('[');
    trickling.add(res);
    const timer = setInterval(() => res.write(' '), 50);
    res.once('close', () => {
      clearInterval(timer);
      trickling.delete(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of trickling) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function client() {
  return createDownstreamClient<'slow'>({ urls: { slow: url }, timeoutMs: TIMEOUT_MS, retries: 0, metrics: createMetrics({ defaultMetrics: false }) });
}

async function timed(call: () => Promise<unknown>) {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: performance.now() - started };
}

describe('a downstream call whose body trickles', () => {
  it('ends at the service’s timeout, not when the service stops sending', async () => {
    const downstream = client();
    try {
      const { error, ms } = await timed(() => downstream.call('slow', { path: '/trickle', route: 'GET /trickle' }));
      expect(error).toBeInstanceOf(DownstreamUnavailableError);
      expect((error as DownstreamUnavailableError).reason).toBe(`no answer within ${TIMEOUT_MS} ms`);
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS + LATE_MS);
    } finally {
      await downstream.close();
    }
  });

  it('ends when the request’s budget does, when that comes first', async () => {
    const downstream = client();
    try {
      const budgetMs = 700;
      const scoped = downstream.forRequest({ requestId: 'req-budget', deadline: Date.now() + budgetMs });
      const { error, ms } = await timed(() => scoped.call('slow', { path: '/trickle', route: 'GET /trickle' }));
      expect(error).toBeInstanceOf(DownstreamUnavailableError);
      expect((error as DownstreamUnavailableError).details.countsAsFailure).toBe(false);
      expect(ms).toBeGreaterThanOrEqual(budgetMs - 50);
      expect(ms).toBeLessThan(TIMEOUT_MS);
    } finally {
      await downstream.close();
    }
  });

  it('leaves a whole answer in many chunks alone: decoded once, multi-byte characters intact', async () => {
    const downstream = client();
    try {
      const { body } = await downstream.call<{ name: string; items: number[] }>('slow', { path: '/ok', route: 'GET /ok' });
      expect(body.name).toBe('Zoë’s “quoted” ☕ shop');
      expect(body.items).toHaveLength(2000);
      expect(body.items[1999]).toBe(1999);
    } finally {
      await downstream.close();
    }
  });
});
