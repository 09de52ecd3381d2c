import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A push as a stand-in received it. */
export interface ReceivedPush {
  platform: 'IOS' | 'ANDROID';
  token: string;
  /** APNs `apns-id`, FCM `data.pushId`. */
  pushId: string;
  kind: 'alert' | 'poke';
  headers: Record<string, string>;
  body: any;
  /** The HTTP version it came over, e.g. `2.0`. */
  httpVersion: string;
}

/** A programmed answer for one token: status and JSON body (e.g. APNs `{ reason: 'Unregistered' }`), optional headers. */
export interface StandInAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StandInOptions {
  /** TLS key and certificate (PEM): HTTP/2 over TLS. Without: HTTP/2 cleartext (APNs) or HTTP/1.1 (FCM), development only. */
  tls?: { key: string; cert: string };
  /** Called with each push received, e.g. to print it. */
  onPush?: (push: ReceivedPush) => void;
  host?: string;
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

/** A stand-in for one push service, for development and tests: what it received, and answers to program. */
export interface PushStandIn {
  url: string;
  received: ReceivedPush[];
  /** Answers `answer` (once per call, or always with `times: Infinity`) to pushes for `token`. */
  answer(token: string, answer: StandInAnswer, times?: number): void;
  close(): Promise<void>;
}

async function readBody(req: Req): Promise<string> {
  let text = '';
  for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString();
  return text;
}

async function listen(handler: (req: Req, res: Res) => void, { tls, host = '127.0.0.1' }: StandInOptions, http1Fallback: boolean) {
  const server = tls ? createSecureServer({ ...tls, allowHTTP1: http1Fallback }, handler) : http1Fallback ? createHttpServer(handler) : createH2cServer(handler);
  const open = new Set<{ destroy(): void }>();
  server.on('session', (session: { destroy(): void }) => open.add(session));
  server.on('connection', (socket: { destroy(): void }) => open.add(socket));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

function programmedAnswers() {
  const answers = new Map<string, { answer: StandInAnswer; times: number }>();
  return {
    set(token: string, answer: StandInAnswer, times = 1) {
      answers.set(token, { answer, times });
    },
    take(token: string): StandInAnswer | undefined {
      const entry = answers.get(token);
      if (!entry) return undefined;
      if (--entry.times <= 0) answers.delete(token);
      return entry.answer;
    },
  };
}

function reply(res: Res, status: number, body: unknown, headers: Record<string, string> = {}) {
  (res as ServerResponse).writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

/** An APNs stand-in: `POST /3/device/<token>` with the provider token, answering as Apple does. */
export async function createApnsStandIn(options: StandInOptions = {}): Promise<PushStandIn> {
  const received: ReceivedPush[] = [];
  const answers = programmedAnswers();
  const handler = (req: Req, res: Res) => {
    void (async () => {
      const text = await readBody(req);
      const match = /^\/3\/device\/([^/?]+)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) return reply(res, 404, { reason: 'BadPath' });
      if (!/^bearer \S+\.\S+\.\S+$/.test(String(req.headers.authorization ?? ''))) return reply(res, 403, { reason: 'MissingProviderToken' });
      const token = match[1]!;
      const apnsId = String(req.headers['apns-id'] ?? '');
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')).map(([k, v]) => [k, String(v)]));
      const programmed = answers.take(token);
      if (programmed) return reply(res, programmed.status, programmed.body, { 'apns-id': apnsId, ...programmed.headers });
      const push: ReceivedPush = { platform: 'IOS', token, pushId: apnsId, kind: headers['apns-push-type'] === 'background' ? 'poke' : 'alert', headers, body: JSON.parse(text), httpVersion: req.httpVersion };
      received.push(push);
      options.onPush?.(push);
      reply(res, 200, undefined, { 'apns-id': apnsId });
    })();
  };
  const server = await listen(handler, options, false);
  return { url: server.url, received, answer: answers.set, close: server.close };
}

/** An FCM HTTP v1 stand-in with its OAuth token endpoint at `/token`. */
export async function createFcmStandIn(options: StandInOptions = {}): Promise<PushStandIn & { tokenUri: string }> {
  const received: ReceivedPush[] = [];
  const answers = programmedAnswers();
  const issued = new Set<string>();
  const handler = (req: Req, res: Res) => {
    void (async () => {
      const text = await readBody(req);
      if (req.method === 'POST' && req.url === '/token') {
        const form = new URLSearchParams(text);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !form.get('assertion')) return reply(res, 400, { error: 'invalid_grant' });
        const accessToken = `stand-in-${issued.size + 1}-${Date.now()}`;
        issued.add(accessToken);
        return reply(res, 200, { access_token: accessToken, expires_in: 3600, token_type: 'Bearer' });
      }
      const match = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) return reply(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: 'no such route' } });
      const bearer = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!issued.has(bearer)) return reply(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'bad access token' } });
      const body = JSON.parse(text) as { message: { token: string; data?: Record<string, string> } };
      const token = body.message.token;
      const programmed = answers.take(token);
      if (programmed) return reply(res, programmed.status, programmed.body, programmed.headers);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !k.startsWith(':')).map(([k, v]) => [k, String(v)]));
      const push: ReceivedPush = { platform: 'ANDROID', token, pushId: body.message.data?.pushId ?? '', kind: body.message.data?.kind === 'poke' ? 'poke' : 'alert', headers, body, httpVersion: req.httpVersion };
      received.push(push);
      options.onPush?.(push);
      reply(res, 200, { name: `projects/${match[1]}/messages/${push.pushId}` });
    })();
  };
  const server = await listen(handler, options, true);
  return { url: server.url, tokenUri: `${server.url}/token`, received, answer: answers.set, close: server.close };
}

/** One readable line per push, for the development log: what a phone would receive. */
export function describePush(push: ReceivedPush): string {
  const token = `${push.token.slice(0, 8)}…`;
  if (push.platform === 'IOS') {
    return `APNs ${push.kind} → ${token} apns-id=${push.pushId} push-type=${push.headers['apns-push-type']} priority=${push.headers['apns-priority']}${push.headers['apns-collapse-id'] ? ` collapse-id=${push.headers['apns-collapse-id']}` : ''} ${JSON.stringify(push.body)}`;
  }
  return `FCM ${push.kind} → ${token} pushId=${push.pushId} ${JSON.stringify(push.body.message.android ?? {})} data=${JSON.stringify(push.body.message.data ?? {})}`;
}
