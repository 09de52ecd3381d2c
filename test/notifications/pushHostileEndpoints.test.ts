import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createApnsTransport } from '../../src/services/notifications/createApnsTransport.js';
import { createFcmTransport } from '../../src/services/notifications/createFcmTransport.js';
import type { PushMessage, PushTransport } from '../../src/services/notifications/PushTransport.js';

// APNs and FCM endpoints that misbehave, over real TLS sockets: hanging, trickling, answering
// garbage, flooding, presenting a certificate nobody trusts. Each send ends within its deadline
// with an outcome the sender acts on (retry, bounded), never a hang or a crash.

const dir = mkdtempSync(join(tmpdir(), 'push-hostile-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { stdio: 'ignore' });
const tls = { key: readFileSync(join(dir, 'k'), 'utf8'), cert: readFileSync(join(dir, 'c'), 'utf8') };
const apnsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const message: PushMessage = { pushId: '0f0e0d0c-0b0a-5908-8706-050403020100', kind: 'alert', token: 'a'.repeat(64), orderId: 'T3JkZXI6MQ', deepLink: 'mobilebff://orders/T3JkZXI6MQ' };

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

async function h2(handler: Parameters<typeof createSecureServer>[1]): Promise<string> {
  const server: Http2SecureServer = createSecureServer({ ...tls, allowHTTP1: true }, handler);
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s) => sessions.add(s));
  server.on('connection', (s: { destroy(): void }) => sessions.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => (server.close(() => resolve()), sessions.forEach((s) => s.destroy()))));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A TLS server that speaks no HTTP at all: it writes `reply` (or nothing) to whatever connects. */
async function rawTls(reply: string | undefined): Promise<string> {
  const sockets = new Set<{ destroy(): void }>();
  const server: TlsServer = createTlsServer({ ...tls, ALPNProtocols: ['h2', 'http/1.1'] }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    if (reply) socket.write(reply);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => (server.close(() => resolve()), sockets.forEach((s) => s.destroy()))));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const apns = (url: string, trusted = true): PushTransport => {
  const t = createApnsTransport({ url, key: apnsKey, keyId: 'KEY1234567', teamId: 'TEAM123456', topic: 'com.example.shop', timeoutMs: 1500, ...(trusted ? { ca: tls.cert } : {}) });
  closers.push(() => t.close());
  return t;
};
const fcm = (url: string, tokenUri = `${url}/token`, trusted = true): PushTransport => {
  const t = createFcmTransport({ url, account: { project_id: 'p', client_email: 'push@p.iam.gserviceaccount.com', private_key: rsa, token_uri: tokenUri }, timeoutMs: 1500, ...(trusted ? { ca: tls.cert } : {}) });
  closers.push(() => t.close());
  return t;
};

describe('APNs', () => {
  test('an endpoint that never answers: retry after the deadline; the next push dials afresh and goes', async () => {
    let answering = false;
    const url = await h2((_req, res) => {
      if (answering) res.end();
    });
    const t = apns(url);
    expect(await t.send(message)).toEqual({ status: 'retry', reason: 'connection: timeout' });
    answering = true;
    expect(await t.send(message)).toEqual({ status: 'sent' });
  });

  test('an endpoint that answers headers, then trickles a body forever: retry after the deadline', async () => {
    const url = await h2((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(timer));
    });
    expect((await apns(url).send(message)).status).toBe('retry');
  });

  test('a TLS server that speaks no HTTP/2, one that accepts and stays silent, and a certificate nobody trusts: retry, never a crash', async () => {
    expect((await apns(await rawTls('HTTP/1.1 200 OK\r\n\r\ngarbage garbage garbage')).send(message)).status).toBe('retry');
    expect((await apns(await rawTls(undefined)).send(message)).status).toBe('retry');
    const untrusted = await apns(await h2((_req, res) => res.end()), false).send(message);
    expect(untrusted.status).toBe('retry');
    expect((untrusted as { reason: string }).reason).toMatch(/^connection: [A-Z0-9_]+$/);
  });

  test('429 with Retry-After, a 500 flooding garbage: retry, Retry-After honoured, the reason a short label', async () => {
    const url = await h2((req, res) => {
      if (req.url.endsWith('b'.repeat(64))) {
        res.writeHead(500);
        res.end('<html>'.repeat(100_000));
        return;
      }
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ reason: 'TooManyRequests' }));
    });
    const t = apns(url);
    expect(await t.send(message)).toEqual({ status: 'retry', reason: 'TooManyRequests', retryAfterMs: 7000 });
    expect(await t.send({ ...message, token: 'b'.repeat(64) })).toEqual({ status: 'retry', reason: 'HTTP 500' });
  });
});

describe('FCM', () => {
  test('a token_uri answering garbage, or not at all, and an FCM endpoint that hangs: retry after the deadline', async () => {
    const garbage = await h2((_req, res) => (res.writeHead(200, { 'content-type': 'application/json' }), res.end('{not json')));
    expect((await fcm(garbage).send(message)).status).toBe('retry');
    const silent = await h2(() => {});
    expect((await fcm(silent).send(message)).status).toBe('retry');
    const hangingSend = await h2((req, res) => {
      if (req.url === '/token') return res.end(JSON.stringify({ access_token: 'a.b', expires_in: 'soon' }));
      // the send itself: never answered
    });
    expect((await fcm(hangingSend).send(message)).status).toBe('retry');
  });

  test('a 503 with Retry-After and a flood of garbage; a certificate nobody trusts; a TLS server that speaks no HTTP: retry, bounded reason', async () => {
    const url = await h2((req, res) => {
      if (req.url === '/token') return res.end(JSON.stringify({ access_token: 'a.b', expires_in: 3600 }));
      res.writeHead(503, { 'retry-after': '9' });
      res.end('x'.repeat(1_000_000));
    });
    expect(await fcm(url).send(message)).toEqual({ status: 'retry', reason: 'HTTP 503', retryAfterMs: 9000 });
    const untrusted = await fcm(url, `${url}/token`, false).send(message);
    expect(untrusted.status).toBe('retry');
    expect((untrusted as { reason: string }).reason.length).toBeLessThanOrEqual(64);
    expect((await fcm(await rawTls('SSH-2.0-OpenSSH_9.6\r\n')).send(message)).status).toBe('retry');
  });
});
