import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import { processRegularResult } from 'graphql-yoga';
import type { Logger } from 'pino';
import type { ClientIdentity, ClientVerdict } from '../clients/index.js';
import type { Context, Viewer } from '../context.js';
import { clientResult } from '../errors/index.js';
import type { Admission } from '../limits/index.js';
import type { PersistedOperation, PersistedOperations } from '../persisted/index.js';
import { refusalResponse } from '../plugins/useAdmission.js';
import { addVersionHeaders, refuseUpgradeRequired, withSunsetNotice } from '../plugins/useClientVersionPolicy.js';
import { chooseEncoding, compress } from '../plugins/useCompression.js';
import { addCorsHeaders } from '../plugins/useCors.js';
import { csrfRefusal } from '../plugins/useCsrfPrevention.js';
import { cacheControlOf, CACHED_GET_VARY, NOT_CACHEABLE } from '../plugins/useHttpCaching.js';
import { etagOf, matchesEtag } from '../responseCache/index.js';
import { checkParams } from '../plugins/useInputValidation.js';
import { lookupPersistedOperation, runCompiled, type PersistedOperationsMode } from '../plugins/usePersistedOperations.js';
import type { LearnedTexts, TextRunner } from './createLearnedTexts.js';
import { HeaderMap, nodeHeaders } from './headerMap.js';

/** A request's headers, as the shared gate steps read them. */
export type HeaderReader = Pick<Headers, 'get' | 'has'>;

/** A result as the lane carries it from execution to serialization: with the serializer yoga would use (`stringify`), errors not yet masked. */
export type LaneResult = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

/** One persisted query about to run on the lane: what a step around its execution may key on. */
export interface LaneExecution {
  operation: PersistedOperation;
  /** As yoga's parameters carry it once the operation is known: the client's, else the operation's name. */
  operationName: string;
  variables: Record<string, unknown> | undefined;
  viewer: Viewer;
  headers: HeaderReader;
  log: Logger;
  /** The request's GraphQL context, made at the first call: a step may prepare it before `execute` runs the query with it. */
  context(): Context;
}

/**
 * A step around the lane's execution of a persisted query, as a yoga plugin's `onParams` +
 * `onExecute` would be (src/bff/plugins/usePersistedResponseCache.ts is one): it may answer a
 * result without calling `execute` (a cached one), or call it and keep or replace what it gives.
 * Steps run in order, the first outermost; the result then goes through masking, error codes,
 * serialization and the response steps as any.
 */
export type AroundExecution = (execution: LaneExecution, execute: () => Promise<LaneResult>) => Promise<LaneResult>;

export interface ByHashLaneOptions {
  /** The set serving now. */
  operations: () => PersistedOperations;
  /** The queries compiled for it, by id: only those run on the lane. */
  compiled: () => ReadonlyMap<string, CompiledQuery> | undefined;
  mode: PersistedOperationsMode;
  admission: Admission;
  /** The viewer of a request's `Authorization` (throws the client error: 401, 503). */
  authenticate: (authorization: string | null) => Promise<Viewer>;
  /** Whom a request counts against: the verified viewer, else the client's address. */
  clientKey: (viewer: Viewer, req: IncomingMessage) => string;
  /** The app-version gate; absent when no rule is configured. */
  versionPolicy?: {
    check: (client: ClientIdentity) => ClientVerdict;
    onRefused: (client: ClientIdentity) => void;
    onSunset: (client: ClientIdentity) => void;
  };
  /** Called once per request that resolved to a persisted operation (usage metrics). */
  onOperation: (operation: PersistedOperation, headers: HeaderReader) => void;
  /**
   * The GraphQL context of a request, as yoga's context factory builds it, with loaders that fetch
   * only the product fields the persisted query reads (`productFields`; absent: whole products).
   */
  context: (viewer: Viewer, requestId: string, headers: HeaderReader, log: Logger, productFields?: readonly string[]) => Context;
  /** Yoga's error masking (`yoga.maskedErrorsOpts.maskError`'s rule), logging to the request's logger. */
  maskError: (error: unknown, log: Logger) => GraphQLError;
  /** The CORS rule, when CORS is configured. */
  corsAllows?: (origin: string | null) => origin is string;
  /** Requests with a larger body go to yoga (which refuses them). */
  maxBodyBytes: number;
  /** Steps around execution (a response cache). @default none */
  around?: readonly AroundExecution[];
  /** Bodies at least this long are compressed when the client accepts it (as `useCompression`). @default 1024 */
  compressionThreshold?: number;
  /** Query texts yoga has run (`createLearnedTexts`), which the lane then answers too; absent: by id only. */
  texts?: Pick<LearnedTexts, 'runnerFor'>;
}

/** The fetch API `processRegularResult` builds its answer with: here, plain data. */
const PLAIN_FETCH_API = {
  Response: class {
    constructor(
      readonly body: string,
      readonly init: { status: number; headers: Record<string, string> },
    ) {}
  },
} as unknown as Parameters<typeof processRegularResult>[1];

/** The parameters yoga accepts (GraphQL over HTTP, and `documentId`: `extraParamNames`). */
const PARAMETERS = new Set(['query', 'variables', 'operationName', 'extensions', 'documentId']);
const HEX_OR_PREFIXED = /^(sha256:)?[0-9a-fA-F]{64}$/;
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The media types yoga's result processors serve, in their order; only the last ("regular": one JSON answer) is the lane's. */
const PROCESSORS: readonly (readonly [readonly string[], boolean])[] = [
  [['text/event-stream'], false],
  [['multipart/mixed'], false],
  [['application/graphql-response+json', 'application/json'], true],
];
const matches = (processorType: string, requested: string) => {
  const [pre, suf] = processorType.split('/');
  const [askedPre, askedSuf] = requested.split('/');
  return (askedPre === '*' || askedPre === pre) && (askedSuf === '*' || askedSuf === suf);
};
const mediaTypes = new Map<string, string | null>();
/**
 * The media type yoga answers a query's single result in for this `Accept` (its result processors
 * pick the last match, in the order above, of the accepted types in reverse order), or `null`
 * when yoga would pick a stream format (`text/event-stream`, `multipart/mixed`): such requests
 * stay on yoga.
 */
export function regularMediaType(accept: string | undefined): string | null {
  const key = accept ?? '';
  let chosen = mediaTypes.get(key);
  if (chosen !== undefined) return chosen;
  const requested: string[] = [];
  for (const range of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [type, ...params] = range.split(';');
    if (type === undefined) continue;
    if ((params.find((p) => p.includes('charset=')) ?? 'charset=utf-8') !== 'charset=utf-8') continue;
    requested.push(type);
  }
  requested.reverse();
  chosen = null;
  for (const [types, regular] of PROCESSORS) for (const asked of requested) for (const type of types) if (matches(type, asked)) chosen = regular ? type : null;
  if (mediaTypes.size < 256) mediaTypes.set(key, chosen);
  return chosen;
}

/** An answer about to be written: status, headers (lowercase names), body (`null`: none, as a 304). */
interface LaneResponse {
  status: number;
  headers: HeaderMap;
  body: string | Uint8Array | null;
}

/** What a request carries, once read: its parameters and where its `documentId` came from. */
interface LaneParams {
  params: Record<string, unknown>;
  documentId: unknown;
}

/**
 * Whether parameters name a persisted operation by id and nothing else (no text): the lane's
 * only business. The checks of the input's shape run later, as gates, in yoga's order; this only
 * says which path the request takes, on values of the types it expects.
 */
function namesOperationById({ params, documentId }: LaneParams): string | undefined {
  if (params.query != null) return undefined;
  // Any other parameter is yoga's to refuse (BAD_REQUEST), after its gates.
  for (const key in params) if (!PARAMETERS.has(key)) return undefined;
  const extensions = params.extensions;
  const persistedQuery = isPlainObject(extensions) ? extensions.persistedQuery : undefined;
  const hash = isPlainObject(persistedQuery) ? persistedQuery.sha256Hash : undefined;
  if (typeof hash === 'string') return hash.toLowerCase();
  if (hash == null && persistedQuery == null && typeof documentId === 'string') return documentId.replace(/^sha256:/i, '').toLowerCase();
  return undefined;
}

/** The parameters of a GET (yoga's GET parser: JSON-encoded `variables` and `extensions`), or `undefined` when yoga should judge them. */
function paramsOfGet(search: string): LaneParams | undefined {
  const query = new URLSearchParams(search);
  if (query.get('query')) return undefined;
  // As yoga's `handleURLSearchParams`: empty values are absent.
  const params: Record<string, unknown> = {};
  try {
    const operationName = query.get('operationName');
    if (operationName) params.operationName = operationName;
    const variables = query.get('variables');
    if (variables) params.variables = JSON.parse(variables);
    const extensions = query.get('extensions');
    if (extensions) params.extensions = JSON.parse(extensions);
  } catch {
    return undefined;
  }
  return { params, documentId: query.get('documentId') ?? undefined };
}

/**
 * The by-hash lane (issue 15): a persisted query sent by id — the production request of every
 * phone — answered on the node:http request itself, without yoga's fetch-API round trip and
 * plugin chain, with every gate and response step yoga's plugins apply, called from the same
 * functions (src/bff/plugins): admission (load shedding, rate limit), the CSRF rule, the app-version
 * gate, the check of the input, the manifest lookup (unknown ids answered as yoga answers them),
 * usage metrics, authentication, the compiled query, yoga's error masking and the error codes,
 * yoga's own result serializer and status rules (`processRegularResult`), CORS, `Vary`,
 * `Deprecation`/`Sunset`, `Cache-Control`/`ETag`/304, and compression. The request id, access log
 * and duration metric are the HTTP server's, for both paths. With `texts` (`PERSISTED_OPERATIONS=off`)
 * it also answers, by POST, a query text yoga has run before (createLearnedTexts.ts), with the same
 * gates (the manifest lookup aside), on yoga's own executor.
 *
 * Everything else goes to yoga, decided before anything is counted: text yoga has not run (or
 * would not let the lane run), mutations, subscriptions, batches, `@defer` operations, stream
 * media types (SSE, multipart), other paths and content types, bodies over the limit or without a
 * length, malformed JSON, ids whose type cannot be read. `FAST_PATHS=off` turns the lane off.
 */
export function createByHashLane(options: ByHashLaneOptions) {
  const { operations, compiled, mode, admission, versionPolicy, corsAllows, maxBodyBytes, around = [], compressionThreshold = 1024, texts } = options;

  /**
   * How to run a text the lane answers (`texts`: one yoga has run before, in
   * `PERSISTED_OPERATIONS=off`), sent as `query` with at most `variables` and `operationName`;
   * `undefined`: yoga answers.
   */
  function learnedText({ params, documentId }: LaneParams): TextRunner | undefined {
    if (!texts || mode !== 'off' || typeof params.query !== 'string' || documentId !== undefined) return undefined;
    for (const key in params) if (key !== 'query' && key !== 'variables' && key !== 'operationName') return undefined;
    const name = params.operationName;
    if (name != null && (typeof name !== 'string' || name === '')) return undefined;
    return texts.runnerFor(params.query, name ?? undefined);
  }

  /** Whether the lane serves the request whose parameters these are; `false`: yoga does. */
  function servesOperation(laneParams: LaneParams): boolean {
    const id = namesOperationById(laneParams);
    if (id === undefined) return false;
    const operation = operations().byId.get(id);
    // An unknown id is refused on the lane as yoga refuses it; a known one runs here only as a compiled query without `@defer`.
    if (!operation) return HEX_OR_PREFIXED.test(id) || id.length > 0;
    return operation.type === 'query' && !operation.withoutDefer && compiled()?.has(operation.id) === true;
  }

  /** Answers a persisted query by id, or with `text` a learned text (`learnedText`). */
  async function answer(req: IncomingMessage, res: ServerResponse, log: Logger, laneParams: LaneParams, mediaType: string, hasQueryString: boolean, text?: TextRunner): Promise<void> {
    const method = req.method as 'GET' | 'POST';
    const headers = nodeHeaders(req.headers);
    log.debug('by-hash lane');
    const viewer = options.authenticate(headers.get('authorization'));
    viewer.catch(() => undefined);
    let verdict: ClientVerdict | undefined;
    const respond = (response: LaneResponse) => {
      for (const [name, value] of response.headers.entries()) res.setHeader(name, value);
      // The head first: `end()` before it would measure the body's length once more itself.
      res.writeHead(response.status);
      res.end(response.body ?? undefined);
    };
    const finish = (plain: { status: number; headers: Record<string, string>; body: string }, hasErrors: boolean, operation?: PersistedOperation, staleAge?: number): void | Promise<void> => {
      const response = responseSteps(plain, hasErrors, operation, staleAge);
      // Only a compressed answer waits for anything. (Not `instanceof Promise`: node's zlib promises
      // come from another realm than this module's under jest's VM modules.)
      if ('then' in response) return response.then(respond);
      respond(response);
    };

    /** yoga's onResponse steps, in its plugins' order: CORS, the version gate's headers, HTTP caching, compression. */
    function responseSteps(plain: { status: number; headers: Record<string, string>; body: string }, hasErrors: boolean, operation?: PersistedOperation, staleAge?: number): LaneResponse | Promise<LaneResponse> {
      const out = new HeaderMap(plain.headers);
      // Written as the string it is: node's response then sends its head and a string body in one
      // write (a Buffer body goes out as a writev of the two), ~5% less CPU for a small answer
      // (S1) and the same for the orders screen (issue 15). Compression encodes it first.
      let body: string | Uint8Array | null = plain.body;
      let status = plain.status;
      out.set('content-length', String(Buffer.byteLength(plain.body)));
      if (corsAllows) addCorsHeaders(out, headers.get('origin'), corsAllows);
      if (verdict) addVersionHeaders(out, verdict);
      const type = out.get('content-type') ?? '';
      if (status !== 200) {
        if (method === 'GET' && type.includes('json') && !out.has('cache-control')) {
          out.set('cache-control', NOT_CACHEABLE);
          out.delete('etag');
        }
      } else if (staleAge !== undefined) {
        // The last good answer while a service is down: no cache may keep it as fresh.
        out.set('cache-control', NOT_CACHEABLE);
        out.set('age', String(staleAge));
        out.delete('etag');
      } else if (!operation) {
        // Text (or a refusal before the operation was known): as useHttpCaching, never kept with an error.
        if ((hasErrors || method === 'GET') && !out.has('cache-control')) out.set('cache-control', NOT_CACHEABLE);
      } else {
        const cacheControl = cacheControlOf(operation.cachePolicy, hasErrors);
        out.set('cache-control', cacheControl);
        if (method === 'GET' && hasErrors) out.delete('etag');
        else if (method === 'GET') {
          const etag = etagOf(plain.body);
          out.set('etag', etag);
          out.append('vary', CACHED_GET_VARY);
          if (matchesEtag(headers.get('if-none-match'), etag)) {
            out.delete('content-type');
            out.delete('content-length');
            status = 304;
            body = null;
          }
        }
      }
      if (body !== null && type.includes('json') && !out.has('content-encoding')) {
        const encoding = chooseEncoding(headers.get('accept-encoding'));
        if (encoding && Number(out.get('content-length')) >= compressionThreshold) {
          out.append('vary', 'Accept-Encoding');
          return compress(Buffer.from(plain.body), encoding).then((compressed) => {
            out.set('content-encoding', encoding);
            out.set('content-length', String(compressed.length));
            return { status, headers: out, body: compressed };
          });
        }
      }
      return { status, headers: out, body };
    }

    /** An error before execution, as yoga answers it: masked, coded, serialized by its result processor. */
    const refuse = (error: unknown, operation?: PersistedOperation) => finish(serialize({ errors: [options.maskError(error, log)] }, mediaType), true, operation);

    // onRequestParse: admission, then the CSRF rule (the content type was checked to choose the lane).
    const refusal = await admission.admit(options.clientKey(await viewer.catch(() => null), req));
    if (refusal) return finish(refusalResponse(refusal), true);
    const csrf = csrfRefusal(method, hasQueryString, headers);
    if (csrf) return finish(csrf, true);

    // onParams: the version gate, the input's shape, the manifest.
    let operation: PersistedOperation | undefined;
    try {
      if (versionPolicy) {
        const client = { name: headers.get('apollographql-client-name'), version: headers.get('apollographql-client-version') };
        verdict = versionPolicy.check(client);
        refuseUpgradeRequired(verdict, headers, versionPolicy.onRefused);
      }
      checkParams(laneParams.params);
      operation = lookupPersistedOperation(operations(), mode, laneParams.params, laneParams.documentId);
    } catch (error) {
      return refuse(error);
    }
    let runQuery: TextRunner;
    if (text) {
      // Free-form text in `off` mode names no operation.
      if (operation) return refuse(new Error(`a learned text named a persisted operation`));
      runQuery = text;
    } else {
      // servesOperation() made sure of it; a reload in between may have changed the set.
      const query = operation && compiled()?.get(operation.id);
      if (!operation || !query) return refuse(new Error(`persisted operation changed under the lane`));
      runQuery = (contextValue, variableValues) => runCompiled(query, undefined, contextValue, variableValues);
      options.onOperation(operation, headers);
    }

    // The context (authentication), then the compiled query.
    let resolvedViewer: Viewer;
    try {
      resolvedViewer = await viewer;
    } catch (error) {
      return refuse(error, operation);
    }
    const requestId = req.headers['x-request-id'] as string;
    const variables = laneParams.params.variables as Record<string, unknown> | undefined;
    let context: Context | undefined;
    const contextOf = () => (context ??= options.context(resolvedViewer, requestId, headers, log, operation?.productFields ?? text?.productFields));
    const execute = async (): Promise<LaneResult> => {
      try {
        return await runQuery(contextOf(), variables);
      } catch (error) {
        return { errors: [error as GraphQLError] };
      }
    };
    let run = execute;
    // The steps around execution (the response cache) are for persisted queries only, as on yoga's path.
    if (operation) {
      const execution: LaneExecution = {
        operation,
        operationName: typeof laneParams.params.operationName === 'string' ? laneParams.params.operationName : operation.name,
        variables,
        viewer: resolvedViewer,
        headers,
        log,
        context: contextOf,
      };
      for (let i = around.length - 1; i >= 0; i--) {
        const step = around[i]!;
        const next = run;
        run = () => step(execution, next);
      }
    }
    // Then as yoga: masking (onExecuteDone), the sunset notice (onExecutionResult), the error codes, the serializer.
    let result: LaneResult = await run();
    if (result.errors?.length) result = { ...result, errors: result.errors.map((error) => options.maskError(error, log)) };
    if (verdict?.kind === 'sunset') {
      versionPolicy?.onSunset({ name: headers.get('apollographql-client-name'), version: headers.get('apollographql-client-version') });
      result = withSunsetNotice(result, verdict);
    }
    const hasErrors = (result.errors?.length ?? 0) > 0;
    const staleAge = (result.extensions as { stale?: { ageSeconds?: unknown } } | undefined)?.stale?.ageSeconds;
    return finish(serialize(clientResult(result), mediaType), hasErrors, operation, typeof staleAge === 'number' ? staleAge : undefined);
  }

  return {
    /**
     * Answers the request when it is the lane's, else calls `fallback` (yoga) — for a POST after
     * reading its body, which yoga then reads from `req.body`.
     */
    handle(req: IncomingMessage, res: ServerResponse, log: Logger, fallback: () => void): void {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const method = req.method;
      if (path !== '/graphql' || (method !== 'GET' && method !== 'POST')) return fallback();
      const mediaType = regularMediaType(req.headers.accept);
      if (!mediaType) return fallback();
      const fail = (error: unknown) => {
        log.error({ err: error }, 'by-hash lane failed');
        if (!res.headersSent) respondPlain(res, 500, JSON.stringify({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }), mediaType);
        else res.destroy();
      };
      if (method === 'GET') {
        const laneParams = paramsOfGet(q === -1 ? '' : url.slice(q + 1));
        if (!laneParams || !servesOperation(laneParams)) return fallback();
        answer(req, res, log, laneParams, mediaType, q !== -1 && q < url.length - 1).catch(fail);
        return;
      }
      // JSON as yoga's parser matches it (`isContentTypeMatch`), with a length within the limit.
      const type = req.headers['content-type']?.split(',')[0];
      const length = Number(req.headers['content-length']);
      if (!type || (type !== 'application/json' && !type.startsWith('application/json;')) || !(length > 0) || length > maxBodyBytes || req.headers['transfer-encoding'] !== undefined) return fallback();
      const chunks: Buffer[] = [];
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      req.once('error', () => undefined);
      req.once('end', () => {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          parsed = undefined;
        }
        const laneParams = isPlainObject(parsed) ? { params: parsed, documentId: parsed.documentId } : undefined;
        const text = laneParams && laneParams.params.query != null ? learnedText(laneParams) : undefined;
        if (text) {
          answer(req, res, log, laneParams!, mediaType, false, text).catch(fail);
          return;
        }
        if (!laneParams || !servesOperation(laneParams)) {
          // yoga's node adapter reads a body already read from `req.body`: as a stream, it takes
          // the path of a body it reads itself (a Buffer there would be walked key by key first).
          (req as IncomingMessage & { body?: Readable }).body = Readable.from([body], { objectMode: false });
          return fallback();
        }
        answer(req, res, log, laneParams, mediaType, false).catch(fail);
      });
    },
  };
}

/** A result as yoga's result processor writes it: its serializer, its status rules, the headers its errors carry. */
function serialize(result: ExecutionResult, mediaType: string): { status: number; headers: Record<string, string>; body: string } {
  const response = processRegularResult(result, PLAIN_FETCH_API, mediaType) as unknown as { body: string; init: { status: number; headers: Record<string, string> } };
  return { status: response.init.status, headers: response.init.headers, body: response.body };
}

function respondPlain(res: ServerResponse, status: number, body: string, mediaType: string) {
  res.statusCode = status;
  res.setHeader('content-type', `${mediaType}; charset=utf-8`);
  res.setHeader('content-length', String(Buffer.byteLength(body)));
  res.end(body);
}
