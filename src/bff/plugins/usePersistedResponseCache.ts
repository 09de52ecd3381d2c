import type { ExecutionResult, GraphQLError } from 'graphql';
import { DownstreamUnavailableError } from '../downstream/DownstreamErrors.js';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { ErrorCode } from '../errors/index.js';
import type { CacheAnswer, CacheMiss, ResponseCache } from '../responseCache/index.js';
import { persistedOperationOf } from './usePersistedOperations.js';
import type { PersistedOperation } from '../persisted/index.js';
import type { AroundExecution } from '../transport/createByHashLane.js';

export interface UsePersistedResponseCacheOptions {
  /** The cache serving now (`undefined`: none yet, before the server started). */
  cache: () => Pick<ResponseCache, 'lookup' | 'store' | 'staleAnswer'> | undefined;
  /** The request's viewer (the verified token's subject, or `null`); rejects for a bad token, which then goes through the pipeline to its 401. */
  viewerOf: (request: Request) => Promise<{ sub: string } | null>;
}

// The miss of an operation, kept on its own parameters (`context.params`), as usePersistedOperations keeps its operation.
const MISS = Symbol('response cache miss');
type WithMiss = { [MISS]?: CacheMiss };

type Serializable = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

/** The service an error says is unavailable (before or after error masking), else `undefined`. */
function unavailableService(error: GraphQLError | { extensions?: Record<string, unknown>; originalError?: unknown }): string | undefined {
  const original = (error as GraphQLError).originalError;
  if (original instanceof DownstreamUnavailableError) return original.service;
  const extensions = error.extensions as { code?: unknown; service?: unknown } | undefined;
  return extensions?.code === ErrorCode.DownstreamUnavailable && typeof extensions.service === 'string' ? extensions.service : undefined;
}

// Accessors below are module functions reading their state from `this`, never closures made per
// request: V8 keeps an accessor's functions in the object's hidden class, in the old generation,
// so with a closure per request every scavenge until the next full collection kept everything the
// closure reaches alive and promoted it (issue 15; src/bff/connections/connection.ts's PageInfo
// is the same case).
const ANSWER = Symbol('cached answer');
const PARSED = Symbol('cached answer, parsed');
type CachedResult = Serializable & { [ANSWER]: CacheAnswer; [PARSED]?: ExecutionResult };
function cachedData(this: CachedResult) {
  return (this[PARSED] ??= JSON.parse(this[ANSWER].body) as ExecutionResult).data;
}
function stringifyCached(this: CachedResult, r: ExecutionResult) {
  return r.errors === undefined && r.extensions === undefined ? this[ANSWER].body : JSON.stringify(r);
}

/** `body` as a result: parsed only if a later plugin reads it; serialized as the very bytes stored (so its ETag is the entry's). */
export function resultOf(answer: CacheAnswer): Serializable {
  if (answer.stale) {
    const { data } = JSON.parse(answer.body) as ExecutionResult;
    return { data, extensions: { stale: { services: answer.stale.services, ageSeconds: answer.ageSeconds } } };
  }
  const result = { [ANSWER]: answer } as CachedResult;
  // Bound: yoga calls `result.stringify(…)` on a copy of the result too.
  result.stringify = stringifyCached.bind(result);
  // Own and enumerable, as `data` is on any result: a copy (`{ ...result }`) reads it.
  Object.defineProperty(result, 'data', { enumerable: true, configurable: true, get: cachedData });
  return result;
}

/**
 * Whether the cache serves an operation at all. An operation with `@defer` is streamed to clients
 * that accept parts: never cached, so that they always get their parts (and the complete variant
 * never stands in for them).
 */
const cacheable = (operation: PersistedOperation | undefined): operation is PersistedOperation =>
  !!operation && operation.type === 'query' && !operation.withoutDefer && !operation.cachePolicy.unhintedRoot;

const VIEWER = Symbol('viewer');
const DEPENDENCIES = Symbol('dependencies');
type Watched = Context & { [VIEWER]: Context['viewer']; [DEPENDENCIES]: NonNullable<Context['dependencies']> };
function readViewer(this: Watched) {
  this[DEPENDENCIES].viewerRead = true;
  return this[VIEWER];
}
function writeViewer(this: Watched, value: Context['viewer']) {
  this[VIEWER] = value;
}

/** Notes in `dependencies` any read of `context.viewer` from now on: a resolver that reads it makes the result the viewer's. */
function watchViewerRead(context: Context, dependencies: NonNullable<Context['dependencies']>): void {
  const watched = context as Watched;
  watched[VIEWER] = context.viewer;
  watched[DEPENDENCIES] = dependencies;
  Object.defineProperty(context, 'viewer', { configurable: true, enumerable: true, get: readViewer, set: writeViewer });
}

/**
 * After an execution that missed: a result without errors is stored (and serialized as the bytes
 * stored); one whose only errors are `DOWNSTREAM_UNAVAILABLE` is replaced by the last good one,
 * marked `extensions.stale`; any other stands. Returns the result to answer.
 */
async function afterMiss(cache: Pick<ResponseCache, 'store' | 'staleAnswer'>, miss: CacheMiss, dependencies: NonNullable<Context['dependencies']>, done: Serializable): Promise<Serializable> {
  if (done.errors?.length) {
    // Only a service being down is answered with the last good result; any other error stands.
    const services = done.errors.map(unavailableService);
    if (!services.every((service) => service !== undefined)) return done;
    const stale = cache.staleAnswer(miss, [...dependencies.unavailable, ...(services as string[])]);
    return stale ? resultOf(stale) : done;
  }
  const body = (done.stringify ?? JSON.stringify)(done);
  await cache.store(miss, body, dependencies);
  done.stringify = (r) => (r.errors === undefined && r.extensions === undefined ? body : JSON.stringify(r));
  return done;
}

/**
 * The response cache on the by-hash lane (src/bff/transport/createByHashLane.ts): the same
 * lookup, the same recording and the same store or stale answer as the plugin below, as a step
 * around the lane's execution.
 */
export function responseCacheStep(current: () => Pick<ResponseCache, 'lookup' | 'store' | 'staleAnswer'> | undefined): AroundExecution {
  return async (execution, execute) => {
    const cache = current();
    if (!cache || !cacheable(execution.operation)) return execute();
    const lookup = await cache.lookup({
      operationId: execution.operation.id,
      operationName: execution.operationName,
      variables: execution.variables,
      viewer: execution.viewer?.sub ?? null,
      policy: execution.operation.cachePolicy,
    });
    if (lookup.kind === 'hit') return resultOf(lookup.answer);
    const context = execution.context();
    const dependencies = context.dependencies;
    if (!dependencies) return execute();
    watchViewerRead(context, dependencies);
    return afterMiss(cache, lookup.miss, dependencies, await execute());
  };
}

/**
 * The yoga adapter of the response cache (src/bff/responseCache): a persisted query is looked up
 * once its operation is known (`onParams`, after usePersistedOperations) and, on a hit, answered
 * without executing — an `If-None-Match` that names the entry's ETag then gets its 304 from
 * useHttpCaching, which hashes the same bytes. On a miss the execution runs with its downstream
 * calls recorded (`context.dependencies`) and any read of `context.viewer` noted; a result
 * without errors is stored, and a result whose only errors are `DOWNSTREAM_UNAVAILABLE` is
 * replaced by the last good one, marked `extensions.stale` (useHttpCaching makes it
 * `private, no-cache` with an `Age`). Mutations, subscriptions, streamed (`@defer`) results and
 * free-form text are never looked up or stored (an operation with `@defer` neither, in either variant).
 */
export function usePersistedResponseCache({ cache: current, viewerOf }: UsePersistedResponseCacheOptions): Plugin {
  return {
    async onParams({ params, request, setResult, context }) {
      const operation = persistedOperationOf(params);
      const cache = current();
      if (!cache || !cacheable(operation)) return;
      let viewer: { sub: string } | null;
      try {
        viewer = await viewerOf(request);
      } catch {
        return;
      }
      const lookup = await cache.lookup({
        operationId: operation.id,
        operationName: params.operationName,
        variables: params.variables,
        viewer: viewer?.sub ?? null,
        policy: operation.cachePolicy,
      });
      if (lookup.kind === 'hit') {
        // As yoga's own handling of the parameters would: the plugins after execution (useHttpCaching) read the operation from it.
        Object.assign(context as object, { params });
        setResult(resultOf(lookup.answer));
      } else (params as WithMiss)[MISS] = lookup.miss;
    },
    onExecute({ args }) {
      const context = args.contextValue as unknown as Context & { params?: WithMiss };
      const miss = context.params?.[MISS];
      const dependencies = context.dependencies;
      const cache = current();
      if (!miss || !dependencies || !cache) return;
      watchViewerRead(context, dependencies);
      return {
        async onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in (result as object)) return;
          const done = result as Serializable;
          const answered = await afterMiss(cache, miss, dependencies, done);
          if (answered !== done) setResult(answered);
        },
      };
    },
  };
}
