import { createServer, request as forward, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with a request: forward it, late or not, answer for the service, or drop the connection. */
export type Fault =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'drop' };

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface FaultProxy {
  /** Base URL to give the BFF instead of the service's, e.g. as `CATALOG_URL`. */
  url: string;
  /** Every request that reached the proxy, in order (each retry is one). */
  received: ReceivedRequest[];
  /** From now on, `fault` for the next `times` requests (all of them when omitted), then `pass`. */
  inject(fault: Fault, times?: number): void;
  /** Back to forwarding everything. */
  heal(): void;
  close(): Promise<void>;
}

/**
 * A real HTTP proxy between the BFF and one service, to make that service slow or failing without
 * touching either: it forwards requests as they are, or delays them, answers a status itself
 * (`503` + `Retry-After`), or destroys the connection. When the service itself is gone (its
 * Fastify app stopped), the proxy drops the client's connection, as a dead host would.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let fault: Fault = { kind: 'pass' };
  let remaining = Infinity;
  const received: ReceivedRequest[] = [];

  const server = createServer((req, res) => {
    received.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    const current = remaining > 0 ? fault : ({ kind: 'pass' } as Fault);
    remaining -= 1;
    const pass = () => {
      const out = forward(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', () => req.socket.destroy());
      req.pipe(out);
    };
    switch (current.kind) {
      case 'pass':
        return pass();
      case 'delay': {
        const timer = setTimeout(pass, current.ms);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      case 'status':
        req.resume();
        res.writeHead(current.status, { 'content-type': 'application/json', ...current.headers });
        return void res.end(JSON.stringify({ code: 'UNAVAILABLE', message: `injected ${current.status}` }));
      case 'drop':
        return void req.socket.destroy();
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    inject(next, times = Infinity) {
      fault = next;
      remaining = times;
    },
    heal() {
      fault = { kind: 'pass' };
      remaining = Infinity;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
