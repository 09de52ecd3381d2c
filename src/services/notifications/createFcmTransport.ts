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
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(account.client_email)
      .setSubject(account.client_email)
      .setAudience(tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key);
    const response = await request(tokenUri, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    });
    const body = (await response.body.json()) as { access_token?: string; expires_in?: number };
    if (response.statusCode !== 200 || !body.access_token) throw new Error(`token_uri answered ${response.statusCode}`);
    access = { token: body.access_token, expiresAt: Date.now() + Math.max(60, (body.expires_in ?? 3600) - 300) * 1000 };
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
      const response = await request(endpoint, {
        dispatcher,
        method: 'POST',
        headers: { authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: message(m) }),
      });
      status = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = await response.body.text();
    } catch (error) {
      return { status: 'retry', reason: `connection: ${(error as Error).message}` };
    }
    if (status === 200) return { status: 'sent' };
    if (status === 401) access = undefined;
    let error: { status?: string; message?: string; details?: { errorCode?: string }[] } = {};
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error ?? {};
    } catch {
      // not JSON: the status says it all
    }
    const code = error.details?.find((d) => d.errorCode)?.errorCode ?? error.status ?? `HTTP ${status}`;
    if (status === 404 || code === 'UNREGISTERED') return { status: 'unregistered', reason: 'UNREGISTERED' };
    if (status === 400 && code === 'INVALID_ARGUMENT' && /token/i.test(error.message ?? '')) return { status: 'unregistered', reason: 'INVALID_ARGUMENT' };
    if (status === 429 || status >= 500) return { status: 'retry', reason: code, retryAfterMs: parseRetryAfter(retryAfter) };
    return { status: 'failed', reason: code };
  }

  return { platform: 'ANDROID', send, close: () => dispatcher.close() };
}
