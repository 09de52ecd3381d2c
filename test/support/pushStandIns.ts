import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApnsStandIn, createFcmStandIn, type PushStandIn, type ReceivedPush } from '../../src/services/notifications/createPushStandIns.js';

export interface PushDoubles {
  apns: PushStandIn;
  fcm: PushStandIn & { tokenUri: string };
  /** The APNS_* / FCM_* variables that point the notifications service at them, over TLS with a test CA. */
  env: Record<string, string>;
  /** Everything both received. */
  received(): ReceivedPush[];
  close(): Promise<void>;
}

/**
 * APNs and FCM stand-ins over real HTTP/2 with TLS (a self-signed certificate for 127.0.0.1 made
 * with openssl, trusted through APNS_CA_FILE / FCM_CA_FILE), an ES256 .p8 key for APNs and a
 * service-account JSON whose token_uri is the FCM stand-in's token endpoint.
 */
export async function startPushDoubles(): Promise<PushDoubles> {
  const dir = mkdtempSync(join(tmpdir(), 'push-doubles-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
  const tls = { key: readFileSync(join(dir, 'tls.key'), 'utf8'), cert: readFileSync(join(dir, 'tls.crt'), 'utf8') };
  const apns = await createApnsStandIn({ tls });
  const fcm = await createFcmStandIn({ tls });
  writeFileSync(join(dir, 'AuthKey.p8'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(join(dir, 'service-account.json'), JSON.stringify({ type: 'service_account', project_id: 'push-test', client_email: 'push@push-test.iam.gserviceaccount.com', private_key_id: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678', private_key: rsa, token_uri: fcm.tokenUri }));
  return {
    apns,
    fcm,
    env: {
      APNS_URL: apns.url,
      APNS_KEY_FILE: join(dir, 'AuthKey.p8'),
      APNS_KEY_ID: 'ABC123DEFG',
      APNS_TEAM_ID: 'DEF123GHIJ',
      APNS_TOPIC: 'com.example.shop',
      APNS_CA_FILE: join(dir, 'tls.crt'),
      FCM_URL: fcm.url,
      FCM_CREDENTIALS_FILE: join(dir, 'service-account.json'),
      FCM_CA_FILE: join(dir, 'tls.crt'),
      PUSH_POKE_WINDOW_MS: '300',
    },
    received: () => [...apns.received, ...fcm.received],
    async close() {
      await apns.close();
      await fcm.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
