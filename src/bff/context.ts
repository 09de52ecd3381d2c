import type { Logger } from 'pino';
import type { VerifiedClaims } from '../auth/index.js';
import type { Bus } from '../bus/index.js';
import type { ScopedDownstream } from './downstream/createDownstreamClient.js';
import type { ReadCoalescer } from './downstream/createReadCoalescer.js';
import type { RequestIdempotency } from './idempotency/index.js';
import type { Loaders } from './loaders/createLoaders.js';
import type { Metrics } from './metrics/createMetrics.js';
import type { Dependencies } from './responseCache/index.js';
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
  viewerProfile(this: Context): Promise<UserModel>;
  /** The idempotency keys of this request's `@idempotent` fields. */
  idempotency: RequestIdempotency;
  /** Change notices, for subscriptions. */
  bus: Bus;
  /** How often a subscription re-reads its feed without a notice (`SUBSCRIPTION_RESYNC_MS`). */
  subscriptionResyncMs: number;
  metrics: Metrics;
  /** Reads shared by the subscriptions of this BFF (one change, one feed read between them all). */
  sharedReads: ReadCoalescer;
  /**
   * Starts a new unit of work in a long-lived context (each event of a subscription): fresh
   * loaders, so no cached order is served stale, and a fresh request budget for downstream calls.
   * Their batch loads join identical ones in flight (`sharedReads`).
   */
  refresh(this: Context): void;
  /** What this request's downstream calls read, for the response cache (absent when it is off). */
  dependencies?: Dependencies;
  /** The request's logger: its request id (and a socket operation's id). What resolvers' unexpected errors are logged with. */
  log?: Logger;
}
