import type { DocumentNode, ExecutionResult } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { clientError, ErrorCode } from '../errors/index.js';
import { acceptsDefer } from '../transport/acceptsDefer.js';
import { extractOperationId, normalizeOperationText, type PersistedOperation, type PersistedOperations } from '../persisted/index.js';

export type PersistedOperationsMode = 'require' | 'allowlist' | 'off';

export interface UsePersistedOperationsOptions {
  /** The set serving now, read once per request (manifests reload without a restart: `watchPersistedOperations`). */
  operations: () => PersistedOperations;
  /**
   * `require`: only ids, and the text of a subscription whose normalized form is a manifest body
   * (Apollo iOS sends subscriptions as text); any other text is refused. `allowlist`: ids, or
   * text whose normalized form is a manifest body. `off`: ids and any text (development).
   */
  mode: PersistedOperationsMode;
  /** Called once per request that resolved to a persisted operation (usage metrics). */
  onOperation?: (operation: PersistedOperation, request: { headers: Pick<Headers, 'get'> }) => void;
  /** Persisted queries compiled with the set serving now, by id (`compilePersistedQueries`); those run compiled. @default none */
  compiled?: () => ReadonlyMap<string, CompiledQuery> | undefined;
}

/** Rejections carry no data, a 4xx, the GraphQL response media type and must not be cached (design.md §3). */
const REJECTION_HEADERS = { 'Content-Type': 'application/graphql-response+json; charset=utf-8', 'Cache-Control': 'private, no-cache, must-revalidate' };

// The message and code are what Apollo Kotlin and Apollo iOS treat as final. `PersistedQueryNotFound`
// would make them resend the full text, `PersistedQueryNotSupported` turn persisted queries off.
export const notInList = (id: string) =>
  clientError(ErrorCode.PersistedQueryNotInList, `Persisted query '${id}' not found in the persisted query list`, { status: 400, headers: REJECTION_HEADERS });
const idRequired = () =>
  clientError(ErrorCode.PersistedQueryIdRequired, 'This server runs only persisted operations: send the operation by id (extensions.persistedQuery.sha256Hash), not as text.', {
    status: 400,
    headers: REJECTION_HEADERS,
  });

const HEX64 = /^[0-9a-f]{64}$/;

// Kept on the operation's own parameters, which yoga hands on as `context.params` of that
// operation: a JSON batch is one HTTP `Request` for several operations, so nothing may be
// remembered per request.
const PERSISTED = Symbol('persisted operation');
/** The document the operation runs: the persisted one, or its variant without `@defer`. */
const PREPARED = Symbol('prepared document');
type WithPersisted = { [PERSISTED]?: PersistedOperation; [PREPARED]?: DocumentNode };

/**
 * The persisted operation that an operation's parameters (`context.params`) resolved to, for the
 * plugins after this one (caching); `undefined` for free-form text.
 */
export function persistedOperationOf(params: unknown): PersistedOperation | undefined {
  return params && typeof params === 'object' ? (params as WithPersisted)[PERSISTED] : undefined;
}

/**
 * Runs a compiled persisted query (the plugin's executor, and the by-hash lane's). Its result is
 * serialized by JSON.stringify, as any (see compilePersistedQueries).
 */
export function runCompiled(query: CompiledQuery, rootValue: unknown, contextValue: unknown, variableValues: unknown): ExecutionResult | Promise<ExecutionResult> {
  return query.query(rootValue, contextValue, variableValues as Record<string, unknown> | null | undefined);
}

const paramsOf = (context: unknown) => (context as { params?: unknown }).params;

/**
 * Serves operations by id from manifests prepared at start: the request's document is the one
 * parsed and validated then, so a request by id does no parse and no validate, and a query
 * compiled then (`compiled`) runs its generated executor instead of graphql-js. Applies on every
 * transport that goes through yoga's pipeline (HTTP GET/POST, SSE, and WebSocket via
 * `getResultForParams`).
 */
// A client may print a body with other whitespace and indentation (Apollo iOS sends its own).
// Per set of manifests: they reload without a restart.
const longestSubscriptionTexts = new WeakMap<PersistedOperations, number>();
const longestSubscriptionText = (served: PersistedOperations) => {
  let longest = longestSubscriptionTexts.get(served);
  if (longest === undefined) {
    longest = 4 * Math.max(0, ...[...served.byId.values()].filter((op) => op.type === 'subscription').map((op) => op.body.length)) + 1024;
    longestSubscriptionTexts.set(served, longest);
  }
  return longest;
};

/**
 * The persisted operation a request's parameters name (by id, or, per `mode`, by text), for the
 * plugin and the by-hash lane: `undefined` for free-form text the mode lets run; throws
 * `PERSISTED_QUERY_NOT_IN_LIST` or `PERSISTED_QUERY_ID_REQUIRED` (400). `documentId`: the
 * request's top-level `documentId`, from the body or the query string.
 */
export function lookupPersistedOperation(served: PersistedOperations, mode: PersistedOperationsMode, params: { extensions?: unknown; query?: unknown }, documentId: unknown): PersistedOperation | undefined {
  const id = extractOperationId({ extensions: params.extensions, documentId });
  let operation: PersistedOperation | undefined;
  if (id !== undefined) {
    operation = HEX64.test(id) ? served.byId.get(id) : undefined;
    if (!operation) throw notInList(id);
  } else if (mode !== 'off' && typeof params.query === 'string') {
    // In `require` mode only a subscription's text can pass: text far longer than any of them is not parsed.
    if (mode === 'require' && params.query.length > longestSubscriptionText(served)) throw idRequired();
    const normalized = normalizeOperationText(params.query);
    operation = normalized === null ? undefined : served.byNormalizedText.get(normalized);
    // Apollo iOS sends a subscription's text, never its hash (design.md §11): in `require`
    // mode that text is let through when it is a manifest body; any other text is refused.
    if (mode === 'require' && operation?.type !== 'subscription') throw idRequired();
    if (!operation) throw notInList('(text)');
  }
  return operation;
}

export function usePersistedOperations({ operations, mode, onOperation, compiled }: UsePersistedOperationsOptions): Plugin {
  return {
    onParams({ params, request, setParams }) {
      const documentId = (params as { documentId?: unknown }).documentId ?? (request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') ?? undefined : undefined);
      const operation = lookupPersistedOperation(operations(), mode, params, documentId);
      if (!operation) return;
      onOperation?.(operation, request);
      const { documentId: _documentId, ...rest } = params as typeof params & { documentId?: unknown };
      // A client that does not accept multipart parts gets one complete response: the operation without its `@defer`.
      const document = operation.withoutDefer && !acceptsDefer(request.headers.get('accept')) ? operation.withoutDefer : operation.document;
      const withOperation: typeof params & WithPersisted = { ...rest, query: operation.body, operationName: params.operationName ?? operation.name, [PERSISTED]: operation, [PREPARED]: document };
      setParams(withOperation);
    },
    onParse({ context, setParsedDocument }) {
      const document = (paramsOf(context) as WithPersisted | undefined)?.[PREPARED];
      if (!document) return;
      setParsedDocument(document);
      // Yoga's document cache, keyed by the text, runs after this hook and would hand back whichever
      // variant (with or without `@defer`) it saw first.
      return ({ replaceParseResult }) => replaceParseResult(document);
    },
    onValidate({ context, setResult }) {
      // Validated against this schema at start (the server does not start otherwise).
      if (persistedOperationOf(paramsOf(context))) setResult([]);
    },
    onExecute({ args, setExecuteFn }) {
      if (!compiled) return;
      const operation = persistedOperationOf(paramsOf(args.contextValue));
      // Compiled without `@defer`: the deferring variant runs on yoga's executor (incremental delivery).
      if (operation?.withoutDefer && args.document !== operation.withoutDefer) return;
      const query = operation && compiled()?.get(operation.id);
      if (!query) return;
      setExecuteFn(({ rootValue, contextValue, variableValues }) => runCompiled(query, rootValue, contextValue, variableValues));
    },
  };
}
