import { Agent, request } from 'undici';
import { cacheVerifiedTokens, createTokenVerifier } from '../../../src/auth/index.js';
import { authenticate } from '../../../src/bff/auth/authenticate.js';
import type { Context } from '../../../src/bff/context.js';
import type { DownstreamCall, ScopedDownstream, ServiceName } from '../../../src/bff/downstream/createDownstreamClient.js';
import { createLoaders } from '../../../src/bff/loaders/createLoaders.js';
import type { UserModel } from '../../../src/bff/models.js';
import { ensureViewerProfile } from '../../../src/bff/auth/ensureViewerProfile.js';

/**
 * What the peer servers of the benchmark (stock yoga, Mercurius) give the BFF's resolvers: the
 * same per-request context shape, the same DataLoaders (`createLoaders`) and the same
 * `viewerProfile` as the BFF's `buildContext`, and the same token check (the development key, the
 * verified-token cache), so that every server does the same work against the same downstream: the
 * same three calls per orders screen, the same JSON parsed.
 *
 * What it leaves out is what a user of those servers would not have without writing it: the
 * downstream client is plain keep-alive undici (as many connections per service as the BFF's),
 * with no circuit breaker, no per-call deadline or request budget, no retries, no metrics and no
 * request id. Queries only: the fields subscriptions and mutations use (bus, idempotency, shared
 * reads, metrics) are absent.
 */
export function createPeerContext({ urls }: { urls: Record<ServiceName, string> }) {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 64 });
  const verifier = cacheVerifiedTokens(createTokenVerifier({ auth: undefined }));

  const downstream: ScopedDownstream = {
    async call<T>(service: ServiceName, { method = 'GET', path, route, body, expect = [200] }: DownstreamCall) {
      const response = await request(urls[service] + path, {
        dispatcher: agent,
        method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const parsed: unknown = JSON.parse(await response.body.text());
      if (!expect.includes(response.statusCode)) throw new Error(`${service} ${route} answered ${response.statusCode}`);
      return { status: response.statusCode, body: parsed as T };
    },
  };

  return {
    /** The context of one request with this `Authorization` header (an invalid token throws `UNAUTHENTICATED`, as in the BFF). */
    async contextFor(authorization: string | null | undefined): Promise<Context> {
      const viewer = await authenticate(verifier, authorization);
      const loaders = createLoaders(downstream);
      let profile: Promise<UserModel> | undefined;
      const context: Pick<Context, 'viewer' | 'loaders' | 'downstream' | 'viewerProfile'> = {
        viewer,
        loaders,
        downstream,
        // As the BFF's: `this`, because the servers copy these properties into their own context.
        viewerProfile(this: Context) {
          profile ??= ensureViewerProfile(this);
          return profile;
        },
      };
      return context as Context;
    },
    close: () => agent.close(),
  };
}
