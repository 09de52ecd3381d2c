/** How the notifications service sends pushes (src/config/loadConfig.ts reads it from the environment). */
export interface PushConfig {
  /** Deep links are `<base>orders/<global id>`. @default 'mobilebff://' */
  deepLinkBase: string;
  /** A burst of one user's changes within this window is one silent poke per device, in ms. @default 2000 */
  pokeWindowMs: number;
  /** How often the consumer reads the orders feed without a bus notice, in ms. @default 5000 */
  pollIntervalMs: number;
  /** Pushes in flight at once per platform; each is one a SIGKILL may leave to be sent again (same push id). @default 1 */
  sendConcurrency: number;
  /** The most one push may take (access token, connection, request, answer), in ms; also sets the claim lease (3×). @default 10000 */
  sendTimeoutMs: number;
  /** Sent and given-up outbox rows are deleted once older than this, in ms (`PUSH_OUTBOX_RETENTION`, checked hourly). @default 3 days */
  outboxRetentionMs: number;
  /** APNs with token auth; unset: a stand-in in development, skipped in production. */
  apns: { url: string; keyFile: string; keyId: string; teamId: string; topic: string; caFile: string | undefined } | undefined;
  /** FCM HTTP v1; unset: a stand-in in development, skipped in production. */
  fcm: { url: string; credentialsFile: string; caFile: string | undefined } | undefined;
  /** Run in-process stand-ins for the platforms without credentials (development and tests). */
  standIns: boolean;
}
