import type { VerifiedClaims } from '../auth/index.js';
import type { Bus } from '../bus/index.js';
import type { ScopedDownstream } from './downstream/createDownstreamClient.js';
import type { RequestIdempotency } from './idempotency/index.js';
import type { Loaders } from './loaders/createLoaders.js';
import type { UserModel } from './models.js';

/** Who is calling: the verified token, or `null` for an anonymous request. */
export type Viewer = VerifiedClaims | null;

/** The per-request context every resolver receives. */
export interface Context {
  viewer: Viewer;
  loaders: Loaders;
  /** Downstream calls bound to this request: its id on every call, its budget capping every deadline. */
  downstream: ScopedDownstream;
  /** The viewer's profile, created by the users service on first sight; once per request. */
  viewerProfile(): Promise<UserModel>;
  /** The idempotency keys of this request's `@idempotent` fields. */
  idempotency: RequestIdempotency;
  /** Change notices, for subscriptions. */
  bus: Bus;
  /** How often a subscription re-reads its feed without a notice (`SUBSCRIPTION_RESYNC_MS`). */
  subscriptionResyncMs: number;
  /**
   * Starts a new unit of work in a long-lived context (each event of a subscription): fresh
   * loaders, so no cached order is served stale, and a fresh request budget for downstream calls.
   */
  refresh(): void;
}
