import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PushConfig } from '../services/notifications/PushConfig.js';

/** The push variables, already parsed as strings/numbers by the env schema. */
export interface PushEnv {
  PUSH_DEEP_LINK_BASE?: string | undefined;
  PUSH_POKE_WINDOW_MS: number;
  PUSH_POLL_INTERVAL_MS: number;
  PUSH_SEND_CONCURRENCY: number;
  PUSH_SEND_TIMEOUT_MS: number;
  PUSH_OUTBOX_RETENTION: number;
  APNS_URL?: string | undefined;
  APNS_KEY_FILE?: string | undefined;
  APNS_KEY_ID?: string | undefined;
  APNS_TEAM_ID?: string | undefined;
  APNS_TOPIC?: string | undefined;
  APNS_CA_FILE?: string | undefined;
  FCM_URL?: string | undefined;
  FCM_CREDENTIALS_FILE?: string | undefined;
  FCM_CA_FILE?: string | undefined;
}

function readable(name: string, file: string, problems: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${name}: expected a readable file, got ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    return undefined;
  }
}

/**
 * The push settings, with the credential files checked now (readable, a key, the fields FCM
 * needs), so a bad deployment fails at start naming the variable rather than at the first push.
 */
export function loadPushConfig(e: PushEnv, nodeEnv: string, problems: string[]): PushConfig {
  const apnsVars = { APNS_KEY_FILE: e.APNS_KEY_FILE, APNS_KEY_ID: e.APNS_KEY_ID, APNS_TEAM_ID: e.APNS_TEAM_ID, APNS_TOPIC: e.APNS_TOPIC };
  const apnsSet = Object.values(apnsVars).filter(Boolean).length;
  if (apnsSet > 0 && apnsSet < 4) {
    for (const [name, v] of Object.entries(apnsVars)) if (!v) problems.push(`${name}: required when any of APNS_KEY_FILE, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC is set`);
  }
  if (apnsSet === 4) {
    const pem = readable('APNS_KEY_FILE', e.APNS_KEY_FILE!, problems);
    if (pem !== undefined) {
      try {
        const key = createPrivateKey(pem);
        if (key.asymmetricKeyType !== 'ec') problems.push('APNS_KEY_FILE: expected the .p8 EC (P-256) signing key from Apple');
      } catch {
        problems.push('APNS_KEY_FILE: expected a PEM private key (the .p8 file from Apple)');
      }
    }
  }
  if (e.APNS_CA_FILE) readable('APNS_CA_FILE', e.APNS_CA_FILE, problems);
  if (e.FCM_CA_FILE) readable('FCM_CA_FILE', e.FCM_CA_FILE, problems);
  if (e.FCM_CREDENTIALS_FILE) {
    const text = readable('FCM_CREDENTIALS_FILE', e.FCM_CREDENTIALS_FILE, problems);
    if (text !== undefined) {
      try {
        const account = JSON.parse(text) as Record<string, unknown>;
        const missing = ['project_id', 'client_email', 'private_key'].filter((k) => typeof account[k] !== 'string' || !account[k]);
        if (missing.length) problems.push(`FCM_CREDENTIALS_FILE: expected a service-account JSON with ${missing.join(', ')}`);
        else createPrivateKey(account.private_key as string);
      } catch {
        problems.push('FCM_CREDENTIALS_FILE: expected a service-account JSON (project_id, client_email, private_key, token_uri) with a PEM private_key');
      }
    }
  }
  return {
    deepLinkBase: e.PUSH_DEEP_LINK_BASE || 'mobilebff://',
    pokeWindowMs: e.PUSH_POKE_WINDOW_MS,
    pollIntervalMs: e.PUSH_POLL_INTERVAL_MS,
    sendConcurrency: e.PUSH_SEND_CONCURRENCY,
    sendTimeoutMs: e.PUSH_SEND_TIMEOUT_MS,
    outboxRetentionMs: e.PUSH_OUTBOX_RETENTION,
    apns:
      apnsSet === 4
        ? { url: e.APNS_URL || 'https://api.push.apple.com', keyFile: e.APNS_KEY_FILE!, keyId: e.APNS_KEY_ID!, teamId: e.APNS_TEAM_ID!, topic: e.APNS_TOPIC!, caFile: e.APNS_CA_FILE || undefined }
        : undefined,
    // APNS_CA_FILE is an extra trusted CA for FCM too unless FCM_CA_FILE names one: a staging set-up or a test double usually has one CA.
    fcm: e.FCM_CREDENTIALS_FILE ? { url: e.FCM_URL || 'https://fcm.googleapis.com', credentialsFile: e.FCM_CREDENTIALS_FILE, caFile: e.FCM_CA_FILE || e.APNS_CA_FILE || undefined } : undefined,
    standIns: nodeEnv !== 'production',
  };
}
