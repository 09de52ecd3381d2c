import { Writable } from 'node:stream';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// Structured JSON logs with a request id that the response carries and every downstream call
// passes on (`x-request-id`); no token and no personal data in them.
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});
const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

let system: SystemBehindProxies;
beforeAll(async () => {
  system = await startSystemBehindProxies({}, {}, { logger: createLogger({ level: 'info' }, sink) });
});
afterAll(() => system?.stop());
afterEach(() => system.proxies.catalog.heal());

async function post(query: string, headers: Record<string, string> = {}) {
  const response = await fetch(system.bff.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return { response, body: (await response.json()) as { data?: any; errors?: any[] } };
}

const SCREEN = '{ viewer { name email } products(first: 1) { edges { node { name } } } }';

describe('the request id', () => {
  it('is the caller’s x-request-id when it is sane: returned in the response and passed to every downstream call', async () => {
    const requestId = 'req-0123456789abcdef';
    const catalogBefore = system.proxies.catalog.received.length;
    const usersBefore = system.proxies.users.received.length;
    const { response } = await post(SCREEN, { 'x-request-id': requestId, authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const downstream = [...system.proxies.catalog.received.slice(catalogBefore), ...system.proxies.users.received.slice(usersBefore)];
    expect(downstream.length).toBeGreaterThanOrEqual(2);
    for (const call of downstream) expect(call.headers['x-request-id']).toBe(requestId);
  });

  it('is a new UUID when the caller sent none, the same in the response and downstream', async () => {
    const before = system.proxies.catalog.received.length;
    const { response } = await post(SCREEN);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(system.proxies.catalog.received.slice(before).map((r) => r.headers['x-request-id'])).toEqual([requestId]);
  });

  it.each([
    ['too long', 'x'.repeat(300)],
    ['with spaces and quotes', 'a b "c" {d}'],
  ])('replaces an x-request-id that is %s', async (_what, value) => {
    const { response } = await post('{ __typename }', { 'x-request-id': value });
    expect(response.headers.get('x-request-id')).not.toBe(value);
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the log', () => {
  it('has one JSON line per request with its id, method, path, status and duration', async () => {
    await post('{ __typename }', { 'x-request-id': 'req-log-line-0001' });
    const line = logs().find((l) => l.requestId === 'req-log-line-0001' && l.msg === 'request');
    expect(line).toMatchObject({ level: 30, method: 'POST', path: '/graphql', status: 200, ms: expect.any(Number) });
  });

  it('logs an unexpected downstream answer with the request id, and the body it carried redacted', async () => {
    system.proxies.catalog.inject({ kind: 'status', status: 409 });
    const { body } = await post('{ products(first: 1) { edges { node { name } } } }', { 'x-request-id': 'req-unexpected-0001' });
    expect(body.errors![0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    const line = logs().find((l) => l.requestId === 'req-unexpected-0001' && l.level === 50);
    expect(line).toMatchObject({ msg: 'unexpected error in a resolver', err: { type: 'DownstreamResponseError', status: 409, body: '[redacted]' } });
    // Once: yoga's own report of the masked error is debug, not a second error line.
    expect(logs().filter((l) => l.level === 50)).toHaveLength(1);
  });

  it('logs an unexpected error of a WebSocket operation once, with the socket’s request id and the operation’s id, and passes the id downstream', async () => {
    const requestId = 'req-socket-unexpected-0001';
    // The upgrade request's x-request-id, as a load balancer or the app sets it.
    class WithRequestId extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { 'x-request-id': requestId } });
      }
    }
    const client = createClient({ url: system.bff.url.replace(/^http/, 'ws'), webSocketImpl: WithRequestId, retryAttempts: 0, lazy: true });
    const errorLinesBefore = logs().filter((l) => l.level === 50).length;
    const catalogBefore = system.proxies.catalog.received.length;
    system.proxies.catalog.inject({ kind: 'status', status: 409 });
    try {
      const result = await new Promise<{ errors?: { message: string; extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
        let last: unknown;
        client.subscribe({ query: '{ products(first: 1) { edges { node { name } } } }' }, {
          next: (r) => (last = r),
          error: reject,
          complete: () => resolve(last as never),
        });
      });
      expect(result.errors![0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    } finally {
      await client.dispose();
    }
    const errorLines = logs().filter((l) => l.level === 50).slice(errorLinesBefore);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatchObject({ requestId, operationId: expect.any(String), msg: 'unexpected error in a resolver', err: { type: 'DownstreamResponseError', status: 409 } });
    expect(system.proxies.catalog.received.slice(catalogBefore).map((r) => r.headers['x-request-id'])).toEqual([requestId]);
  });

  it('never holds a bearer token or a user’s email, even when the response does', async () => {
    const token = await signDevToken({ sub: 'demo' });
    const { body } = await post(SCREEN, { authorization: `Bearer ${token}` });
    expect(body.data.viewer.email).toBe('demo@example.com');
    const text = lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2]!);
    expect(text).not.toMatch(/demo@example\.com/);
    expect(text).not.toMatch(/Bearer\s+ey/i);
  });
});
