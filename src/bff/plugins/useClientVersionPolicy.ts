import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import { clientIdentityOf, CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER, type ClientIdentity, type ClientVerdict, type ClientVersionPolicy } from '../clients/index.js';
import { clientError, ErrorCode } from '../errors/index.js';

export interface UseClientVersionPolicyOptions {
  policy: ClientVersionPolicy;
  /** Called for every operation refused with `UPGRADE_REQUIRED` (metrics). */
  onRefused?: (client: ClientIdentity) => void;
  /** Called for every operation answered with a sunset notice (metrics). */
  onSunset?: (client: ClientIdentity) => void;
}

/** As every rejection before execution: no data, 4xx, the media type Apollo Kotlin parses on non-2xx, never cached. */
const REJECTION_HEADERS = { 'Content-Type': 'application/graphql-response+json; charset=utf-8', 'Cache-Control': 'private, no-cache, must-revalidate' };

/**
 * The app-version gate (design.md §14), for every operation on every transport (HTTP GET/POST,
 * SSE, and WebSocket, whose operations run through yoga's `getResultForParams` with the client
 * headers of the upgrade request): a version below the lowest served is refused with
 * `UPGRADE_REQUIRED` (400, `extensions.minimumVersion`) before anything runs; a retiring version is
 * served with `extensions.sunset` (the date) on every result, and over HTTP with the `Deprecation`
 * (RFC 9745) and `Sunset` (RFC 8594) headers. The verdict depends on the client headers only, so
 * it is one per HTTP request, the same for every operation of a batch.
 */
export function useClientVersionPolicy({ policy, onRefused, onSunset }: UseClientVersionPolicyOptions): Plugin {
  const verdicts = new WeakMap<Request, ClientVerdict>();
  const verdictOf = (request: Request) => {
    let verdict = verdicts.get(request);
    if (!verdict) verdicts.set(request, (verdict = policy.check(clientIdentityOf(request.headers))));
    return verdict;
  };
  return {
    onParams({ request }) {
      refuseUpgradeRequired(verdictOf(request), request.headers, onRefused);
    },
    onExecutionResult({ request, result, setResult }) {
      const verdict = verdicts.get(request);
      if (verdict?.kind !== 'sunset' || !result) return;
      onSunset?.(clientIdentityOf(request.headers));
      const withNotice = (r: ExecutionResult) => withSunsetNotice(r, verdict);
      if (isAsyncIterable(result)) setResult(mapAsyncIterator(result as AsyncIterable<ExecutionResult>, withNotice) as typeof result);
      else if (Array.isArray(result)) setResult(result.map(withNotice) as typeof result);
      else setResult(withNotice(result as ExecutionResult) as typeof result);
    },
    onResponse({ request, response }) {
      const verdict = verdicts.get(request);
      if (verdict) addVersionHeaders(response.headers, verdict);
    },
  };
}

// The steps of the gate, for the plugin and the by-hash lane (src/bff/transport/createByHashLane.ts).

/** Throws `UPGRADE_REQUIRED` (400) when the verdict says so. */
export function refuseUpgradeRequired(verdict: ClientVerdict, headers: Pick<Headers, 'get'>, onRefused?: (client: ClientIdentity) => void): void {
  if (verdict.kind !== 'upgrade') return;
  const client = clientIdentityOf(headers);
  onRefused?.(client);
  throw clientError(ErrorCode.UpgradeRequired, `${client.name} ${client.version} is no longer supported: update the app to version ${verdict.minimumVersion} or later.`, {
    status: 400,
    headers: REJECTION_HEADERS,
    minimumVersion: verdict.minimumVersion,
  });
}

/** A result with the sunset date in `extensions.sunset`, without a `stringify` of its own (one written for data and errors only would drop it). */
export function withSunsetNotice({ stringify: _stringify, ...result }: ExecutionResult & { stringify?: unknown }, verdict: Extract<ClientVerdict, { kind: 'sunset' }>): ExecutionResult {
  return { ...result, extensions: { ...result.extensions, sunset: verdict.notice.date } };
}

/** `Vary` on the client headers (answers differ by app version: a shared cache must not serve one version's answer, or a pass through the gate, to another), and a retiring version's `Deprecation` and `Sunset`. */
export function addVersionHeaders(headers: Pick<Headers, 'append' | 'set'>, verdict: ClientVerdict): void {
  headers.append('vary', `${CLIENT_NAME_HEADER}, ${CLIENT_VERSION_HEADER}`);
  if (verdict.kind !== 'sunset') return;
  headers.set('deprecation', verdict.notice.deprecationHeader);
  headers.set('sunset', verdict.notice.sunsetHeader);
}
