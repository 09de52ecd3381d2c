import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { SignJWT } from 'jose';
import { parseRetryAfter } from '../../bff/downstream/parseRetryAfter.js';
import { ORDER_ALERT_KEYS, type PushMessage, type PushTransport, type SendOutcome } from './PushTransport.js';

export interface ApnsOptions {
  /** e.g. `https://api.push.apple.com`. */
  url: string;
  /** The `.p8` signing key (ES256). */
  key: KeyObject;
  keyId: string;
  teamId: string;
  /** The app's bundle id, `apns-topic`. */
  topic: string;
  /** Extra trusted CA (PEM), for a staging endpoint or a test double. */
  ca?: string;
  /** Most time one push may take, connecting included, in ms. @default 10000 */
  timeoutMs?: number;
}

/** The most of an answer's body that is read (APNs answers a small JSON). */
const MAX_ANSWER = 16_384;

/** Apple asks for a provider token no older than an hour and no refresh more often than every 20 minutes. */
const TOKEN_RENEW_MS = 40 * 60_000;

/**
 * APNs over HTTP/2 with token-based auth: one long-lived HTTP/2 session (Apple wants connections
 * kept open, not one per push), an ES256 provider JWT signed with jose and renewed every 40
 * minutes. node:http2 rather than @parse/node-apn: it is a few lines here, with full control of
 * the headers (apns-id, apns-push-type, apns-collapse-id, apns-priority) and of the CA.
 */
export function createApnsTransport({ url, key, keyId, teamId, topic, ca, timeoutMs = 10_000 }: ApnsOptions): PushTransport {
  let session: ClientHttp2Session | undefined;
  const sessionErrors = new WeakMap<ClientHttp2Session, Error>();
  let token: { jwt: string; at: number } | undefined;

  const providerToken = async () => {
    if (!token || Date.now() - token.at > TOKEN_RENEW_MS) {
      const at = Date.now();
      const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: keyId }).setIssuer(teamId).setIssuedAt(Math.floor(at / 1000)).sign(key);
      token = { jwt, at };
    }
    return token.jwt;
  };

  const open = () => {
    if (session && !session.closed && !session.destroyed) return session;
    // An extra CA, next to the usual ones (`ca` alone would replace them).
    const s = connect(url, ca ? { ca: [...rootCertificates, ca] } : {});
    // A session's failure (TLS refused, not HTTP/2, reset) ends it; its streams then fail with it,
    // and its code becomes their reason.
    s.on('error', (error) => {
      sessionErrors.set(s, error);
      s.destroy();
    });
    s.on('goaway', () => s.close());
    s.unref();
    return (session = s);
  };

  const body = (m: PushMessage) =>
    m.kind === 'alert'
      ? {
          aps: { alert: { 'title-loc-key': ORDER_ALERT_KEYS.title, 'loc-key': ORDER_ALERT_KEYS.body }, sound: 'default', 'thread-id': `order:${m.orderId}` },
          orderId: m.orderId,
          deepLink: m.deepLink,
          pushId: m.pushId,
        }
      : { aps: { 'content-available': 1 }, sync: 'orders', pushId: m.pushId };

  async function send(m: PushMessage): Promise<SendOutcome> {
    const headers: Record<string, string> = {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: `/3/device/${m.token}`,
      authorization: `bearer ${await providerToken()}`,
      'apns-id': m.pushId,
      'apns-topic': topic,
      'apns-push-type': m.kind === 'alert' ? 'alert' : 'background',
      'apns-priority': m.kind === 'alert' ? '10' : '5',
      'content-type': 'application/json',
    };
    if (m.kind === 'alert') headers['apns-collapse-id'] = `order:${m.orderId}`;
    let answer: { status: number; retryAfter?: string; text: string };
    try {
      answer = await new Promise<{ status: number; retryAfter?: string; text: string }>((resolve, reject) => {
        const s = open();
        s.ref();
        // One deadline for the whole exchange (connection, TLS, request, answer): an endpoint that
        // never answers, or trickles bytes, costs at most `timeoutMs`, never the lane.
        const req = s.request(headers);
        const timer = setTimeout(() => {
          // APNs answers in well under a second: a connection that let a push wait this long is
          // dropped (half-open, silent, trickling), so the next push dials afresh.
          reject(new Error('timeout'));
          s.destroy();
        }, timeoutMs);
        let status = 0;
        let retryAfter: string | undefined;
        let text = '';
        req.on('response', (h) => {
          status = Number(h[constants.HTTP2_HEADER_STATUS]);
          retryAfter = h['retry-after'] as string | undefined;
        });
        req.setEncoding('utf8');
        // An APNs answer is a small JSON; a flood of garbage is cut off, not buffered.
        req.on('data', (chunk: string) => {
          if (text.length < MAX_ANSWER) text += chunk.slice(0, MAX_ANSWER - text.length);
        });
        req.on('end', () => {
          clearTimeout(timer);
          resolve({ status, retryAfter, text });
        });
        req.on('close', () => {
          clearTimeout(timer);
          if (!status) reject(sessionErrors.get(s) ?? new Error('closed'));
        });
        req.on('error', (error) => {
          clearTimeout(timer);
          reject(sessionErrors.get(s) ?? error);
        });
        req.end(JSON.stringify(body(m)));
      }).finally(() => session?.unref());
    } catch (error) {
      // The reason is a metric label: a short code, never a message with addresses in it.
      const e = error as NodeJS.ErrnoException;
      return { status: 'retry', reason: `connection: ${e.code ?? e.message}`.slice(0, 64) };
    }
    if (answer.status === 200) return { status: 'sent' };
    let reason = `HTTP ${answer.status}`;
    try {
      const said = (JSON.parse(answer.text) as { reason?: unknown }).reason;
      // Apple's reasons are short words (BadDeviceToken, TooManyRequests); anything else is not trusted as a label.
      if (typeof said === 'string' && /^[A-Za-z]{1,48}$/.test(said)) reason = said;
    } catch {
      // not JSON: keep the status
    }
    if (answer.status === 410 || (answer.status === 400 && reason === 'BadDeviceToken')) return { status: 'unregistered', reason };
    if (answer.status === 429 || answer.status >= 500) return { status: 'retry', reason, retryAfterMs: parseRetryAfter(answer.retryAfter) };
    return { status: 'failed', reason };
  }

  return {
    platform: 'IOS',
    send,
    async close() {
      const s = session;
      session = undefined;
      if (!s || s.destroyed) return;
      // A graceful close waits for the streams in flight; a peer that never ends them is cut off.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (s.destroy(), resolve()), 1000);
        s.close(() => (clearTimeout(timer), resolve()));
      });
    },
  };
}
