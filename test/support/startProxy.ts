import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does with one request:
 * - `unavailable`: answers 503 without forwarding (the service is down);
 * - `hold`: forwards only when `release()` is called (the service is slow);
 * - `loseAnswer`: forwards, then holds the answer until the client gives up (the service did
 *   the work, and its answer never arrived: the caller times out).
 */
export type ProxyAction = 'unavailable' | 'hold' | 'loseAnswer';

export interface Proxy {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The next request to `route` (`'POST /orders'`, the path without query) gets `action`; every other request is forwarded. */
  once(route: string, action: ProxyAction): void;
  /** Forwards the held requests. */
  release(): void;
  /** Resolves when a request to `route` is held; call it before sending that request. */
  held(route: string): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP proxy in front of `target`, for making a real service fail on cue. */
export async function startProxy(target: string): Promise<Proxy> {
  const plans = new Map<string, ProxyAction[]>();
  let releases: (() => void)[] = [];
  const waiters = new Map<string, (() => void)[]>();

  async function forward(req: IncomingMessage, body: Buffer) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
    return fetch(target + req.url, { method: req.method, headers, body: req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(body) });
  }

  async function send(res: ServerResponse, answer: Response) {
    const text = await answer.text();
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
      const action = plans.get(route)?.shift();
      const body = Buffer.concat(chunks);
      void (async () => {
        if (action === 'unavailable') {
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'UNAVAILABLE', message: 'down for the test' }));
          return;
        }
        if (action === 'hold') {
          const released = new Promise<void>((resolve) => releases.push(resolve));
          for (const w of waiters.get(route) ?? []) w();
          waiters.delete(route);
          await released;
        }
        const answer = await forward(req, body);
        if (action === 'loseAnswer') {
          await answer.text();
          return; // never answered: the client's deadline ends it
        }
        await send(res, answer);
      })().catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const release = () => {
    const pending = releases;
    releases = [];
    for (const r of pending) r();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    once(route, action) {
      plans.set(route, [...(plans.get(route) ?? []), action]);
    },
    release,
    held(route) {
      return new Promise((resolve) => waiters.set(route, [...(waiters.get(route) ?? []), resolve]));
    },
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
