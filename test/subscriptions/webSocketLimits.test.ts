import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/index.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// design.md §7: auth in connection_init, close codes, and the limits of one socket.
let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ WS_INIT_TIMEOUT_MS: '300', WS_MAX_OPERATIONS: '2', ALLOWED_ORIGINS: 'https://app.example.com' });
});
afterAll(() => system?.stop());

const SUBSCRIBE = 'subscription { orderEvents { order { number } syncToken } }';

/** A raw graphql-transport-ws socket, to see exactly what the server sends and how it closes. */
function open(headers: Record<string, string> = {}) {
  const ws = new WebSocket(system.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
  const messages: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  ws.on('message', (m) => messages.push(JSON.parse(String(m))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
  const waitFor = async (predicate: (m: any) => boolean, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!messages.some(predicate)) {
      if (Date.now() > end) throw new Error(`no such message; got ${JSON.stringify(messages)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return messages.find(predicate);
  };
  return { ws, messages, closed, opened, waitFor, send: (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

async function initialised(sub: string, expiresIn: string | number = '1h') {
  await system.gql('{ viewer { id } }', {}, { as: sub });
  const socket = open();
  await socket.opened;
  socket.send({ type: 'connection_init', payload: { Authorization: `Bearer ${await signDevToken({ sub, expiresIn })}` } });
  await socket.waitFor((m) => m.type === 'connection_ack');
  return socket;
}

describe('graphql-ws auth and limits', () => {
  it('closes with 4403 when connection_init carries a bad token (the client refreshes and retries)', async () => {
    const socket = open();
    await socket.opened;
    socket.send({ type: 'connection_init', payload: { authorization: 'Bearer not.a.token' } });
    expect((await socket.closed).code).toBe(4403);
  });

  it('closes a live socket with 4403 when its token expires', async () => {
    const socket = await initialised(`exp-${randomUUID()}`, Math.floor(Date.now() / 1000) + 2);
    const started = Date.now();
    const { code } = await socket.closed;
    expect(code).toBe(4403);
    expect(Date.now() - started).toBeGreaterThan(500);
  });

  it('closes with 4408 when no connection_init arrives in time', async () => {
    const socket = open();
    await socket.opened;
    expect((await socket.closed).code).toBe(4408);
  });

  it('closes with 1009 on a frame over 64 KiB', async () => {
    const socket = await initialised(`big-${randomUUID()}`);
    socket.send({ id: '1', type: 'subscribe', payload: { query: `{ __typename ${' '.repeat(70 * 1024)} }` } });
    expect((await socket.closed).code).toBe(1009);
  });

  it('answers one operation too many with an error for its id, and keeps the socket and the others', async () => {
    const socket = await initialised(`many-${randomUUID()}`);
    socket.send({ id: 'a', type: 'subscribe', payload: { query: SUBSCRIBE } });
    socket.send({ id: 'b', type: 'subscribe', payload: { query: SUBSCRIBE } });
    socket.send({ id: 'c', type: 'subscribe', payload: { query: SUBSCRIBE } });
    const error = await socket.waitFor((m) => m.type === 'error' && m.id === 'c');
    expect(error.payload[0].extensions.code).toBe('RATE_LIMITED');
    socket.send({ id: 'p', type: 'ping' });
    socket.send({ type: 'ping' });
    await socket.waitFor((m) => m.type === 'pong');
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    socket.ws.close();
  });

  it('refuses a browser origin that is not allowed, and allows a listed one and native apps (no Origin)', async () => {
    await expect(open({ origin: 'https://evil.example' }).opened).rejects.toThrow(/HTTP 401|HTTP 403/);
    const listed = open({ origin: 'https://app.example.com' });
    await listed.opened;
    listed.ws.close();
    const native = open();
    await native.opened;
    native.ws.close();
  });
});
