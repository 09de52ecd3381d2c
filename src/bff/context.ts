import type { VerifiedClaims } from '../auth/index.js';
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
}
