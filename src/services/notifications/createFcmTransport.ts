import { createPrivateKey } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { parseRetryAfter } from '../../bff/downstream/parseRetryAfter.js';
import { ORDER_ALERT_KEYS, type PushMessage, type PushTransport, type SendOutcome } from './PushTransport.js';

/** The fields of a Google service-account JSON that FCM HTTP v1 needs. */
export interface FcmServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  /** Names the key in the assertion's `kid` header, as Google's own libraries do, when present. */
  private_key_id?: string;
  /** Where the OAuth access token comes from, honoured as given. @default https://oauth2.googleapis.com/token */
  token_uri?: string;
}

export interface FcmOptions {
  /** e.g. `https://fcm.googleapis.com`; messages go to `{url}/v1/projects/{project_id}/messages:send`. */
  url: string;
  account: FcmServiceAccount;
  /** Extra trusted CA (PEM) for both the token endpoint and FCM, for a test double. */
  ca?: string;
  /** @default 10000 */
  timeoutMs?: number;
}

/** The most of an answer's body that is read (FCM and token endpoints answer a small JSON). */
const MAX_ANSWER = 65_536;

/** Reads a body as text up to MAX_ANSWER characters, then drops the rest (a flood of garbage is not buffered). */
async function readCapped(body: AsyncIterable<Buffer | string> & { destroy?: () => void }): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    text += chunk.toString();
    if (text.length >= MAX_ANSWER) {
      body.destroy?.();
      return text.slice(0, MAX_ANSWER);
    }
  }
  return text;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * FCM HTTP v1 over undici (HTTP/2 when the server offers it). The access token comes from the
 * account's `token_uri` by the OAuth JWT-bearer grant (RFC 7523): a JWT signed RS256 with its
 * `private_key`, exchanged for a bearer token cached until a few minutes before it expires.
 * firebase-admin cannot be pointed at another FCM endpoint; google-auth-library could fetch the
 * token but would add a dependency tree (gaxios, gcp-metadata) for what jose, already a
 * dependency, does in a dozen lines here.
 */
export function createFcmTransport({ url, account, ca, timeoutMs = 10_000 }: FcmOptions): PushTransport {
  const dispatcher = new Agent({ allowH2: true, connect: ca ? { ca: [...rootCertificates, ca] } : {}, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const key = createPrivateKey(account.private_key);
  const tokenUri = account.token_uri ?? 'https://oauth2.googleapis.com/token';
  const endpoint = `${url.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(account.project_id)}/messages:send`;
  let access: { token: string; expiresAt: number } | undefined;

  async function accessToken(): Promise<string> {
    if (access && Date.now() < access.expiresAt) return access.token;
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(account.private_key_id ? { kid: account.private_key_id } : {}) })
      .setIssuer(account.client_email)
      .setSubject(account.client_email)
      .setAudience(tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key);
    const response = await request(tokenUri, {
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    let body: { access_token?: unknown; expires_in?: unknown } = {};
    try {
      body = JSON.parse(await readCapped(response.body)) as typeof body;
    } catch {
      // not JSON: refused below
    }
    if (response.statusCode !== 200 || typeof body.access_token !== 'string' || !body.access_token) throw Object.assign(new Error('token_uri refused'), { code: `token_uri HTTP ${response.statusCode}` });
    const expiresIn = typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) ? body.expires_in : 3600;
    access = { token: body.access_token, expiresAt: Date.now() + Math.max(60, expiresIn - 300) * 1000 };
    return access.token;
  }

  const message = (m: PushMessage) =>
    m.kind === 'alert'
      ? {
          token: m.token,
          android: {
            priority: 'HIGH',
            notification: { title_loc_key: ORDER_ALERT_KEYS.title, body_loc_key: ORDER_ALERT_KEYS.body, tag: `order:${m.orderId}` },
          },
          data: { pushId: m.pushId, kind: 'alert', orderId: m.orderId!, deepLink: m.deepLink! },
        }
      : { token: m.token, android: { priority: 'NORMAL' }, data: { pushId: m.pushId, kind: 'poke', sync: 'orders' } };

  async function send(m: PushMessage): Promise<SendOutcome> {
    let status: number;
    let retryAfter: string | string[] | undefined;
    let text: string;
    try {
      // One deadline for the access token and the send together; an answer that never ends is cut off.
      const signal = AbortSignal.timeout(timeoutMs);
      const response = await request(endpoint, {
        dispatcher,
        signal,
        method: 'POST',
        headers: { authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: message(m) }),
      });
      status = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = await readCapped(response.body);
    } catch (error) {
      // The reason is a metric label: a short code, never a message with addresses in it.
      const e = error as { code?: string; name?: string };
      return { status: 'retry', reason: `connection: ${e.code ?? e.name ?? 'error'}`.slice(0, 64) };
    }
    if (status === 200) return { status: 'sent' };
    if (status === 401) access = undefined;
    let error: { status?: string; message?: string; details?: { errorCode?: string }[] } = {};
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
    } catch {
      // not JSON: the status says it all
    }
    const said = error.details?.find((d) => d.errorCode)?.errorCode ?? error.status;
    // Google's codes are short upper-case words; anything else is not trusted as a metric label.
    const code = typeof said === 'string' && /^[A-Z_]{1,48}$/.test(said) ? said : `HTTP ${status}`;
    if (status === 404 || code === 'UNREGISTERED') return { status: 'unregistered', reason: 'UNREGISTERED' };
    if (status === 400 && code === 'INVALID_ARGUMENT' && /token/i.test(error.message ?? '')) return { status: 'unregistered', reason: 'INVALID_ARGUMENT' };
    if (status === 429 || status >= 500) return { status: 'retry', reason: code, retryAfterMs: parseRetryAfter(retryAfter) };
    return { status: 'failed', reason: code };
  }

  return {
    platform: 'ANDROID',
    send,
    // A graceful close waits for requests in flight (each within its deadline); past a second they are cut off.
    close: () => Promise.race([dispatcher.close(), new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]).then(() => dispatcher.destroy().catch(() => undefined)),
  };
}
