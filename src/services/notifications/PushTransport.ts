import type { DevicePlatform } from '../../contracts/index.js';

/** One push to one device, built from an outbox row and the device's current token. */
export interface PushMessage {
  /** Derived from (device, change): APNs `apns-id`, FCM `data.pushId`. */
  pushId: string;
  /** `alert`: a visible notification about one order; `poke`: a silent "sync your orders". */
  kind: 'alert' | 'poke';
  token: string;
  /** The order's global id (alerts only), as the BFF's `Order.id`. */
  orderId?: string;
  /** `PUSH_DEEP_LINK_BASE` + `orders/<global id>` (alerts only). */
  deepLink?: string;
}

/** What a push service answered, reduced to what the sender does next. */
export type SendOutcome =
  | { status: 'sent' }
  /** The token is dead (APNs 410 / BadDeviceToken, FCM UNREGISTERED / invalid token): delete the device. */
  | { status: 'unregistered'; reason: string }
  /** 429 or 5xx or no answer: try again later with the same push id. */
  | { status: 'retry'; reason: string; retryAfterMs?: number }
  /** Anything else: counted and logged (without the token), not retried. */
  | { status: 'failed'; reason: string };

/** A connection to one platform's push service. */
export interface PushTransport {
  platform: DevicePlatform;
  send(message: PushMessage): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** The localization keys of an order alert: the app renders the text in the user's language. */
export const ORDER_ALERT_KEYS = { title: 'ORDER_UPDATED_TITLE', body: 'ORDER_UPDATED_BODY' } as const;
