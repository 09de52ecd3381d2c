import { normalizedExecutor } from '@graphql-tools/executor';
import { BREAK, getOperationAST, visit, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { productProjection } from '../loaders/productProjection.js';
import { costDependsOnVariables } from '../plugins/useOperationLimits.js';
import { persistedOperationOf } from '../plugins/usePersistedOperations.js';

/** Longer texts are never learned (apps' queries are a few KB). */
export const MAX_LEARNED_TEXT_LENGTH = 8 * 1024;

/**
 * Characters of text kept in all, least recently used dropped first. A parsed document keeps
 * every token with its position (~50 bytes of heap per character of a text of nothing but
 * tokens): this bounds the documents kept to ~25 MB even when clients send nothing else.
 */
export const MAX_LEARNED_TEXT_TOTAL = 512 * 1024;

/** One result: a stream (never learned: `@defer`, `@stream`) is closed and fails the request rather than answer part of it. */
function single(result: ExecutionResult | AsyncIterable<unknown>): ExecutionResult {
  if (Symbol.asyncIterator in result) {
    void (result as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
    throw new Error('a learned text gave a stream of results');
  }
  return result;
}

/** Whether the document uses `@defer` or `@stream` anywhere (as parsed: `@ defer` is `@defer`). */
function defersOrStreams(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer' && node.name.value !== 'stream') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/**
 * Runs a learned text: with the request's context and variables, to one result. `productFields`:
 * what it reads of products (`productProjection`), which the lane fetches alone, as for a
 * persisted query.
 */
export type TextRunner = ((contextValue: unknown, variableValues: Record<string, unknown> | undefined) => ExecutionResult | Promise<ExecutionResult>) & { productFields?: readonly string[] };

export interface LearnedTextsOptions {
  schema: GraphQLSchema;
  /** Texts kept, least recently used dropped first. @default 1000 (yoga's own document cache keeps as many) */
  max?: number;
  /** Characters of text kept in all. @default MAX_LEARNED_TEXT_TOTAL */
  maxTotalLength?: number;
}

/**
 * Query texts the by-hash lane may answer (issue 15: the trivial query within 2× of Mercurius,
 * text no slower than stock yoga). The lane never judges a text itself: a text is learned only
 * when yoga has run it (`plugin()`, at `onExecute`), that is after every check of yoga's path
 * that depends on the text alone passed — parse with graphql-armor's token limit, validation with
 * the schema's rules, graphql-armor's depth, alias, directive and cost limits, and in production
 * no introspection. What depends on the request (admission, CSRF, the app-version gate, the
 * input's shape, the persisted-operation mode, authentication) the lane checks on every request,
 * as for a persisted query. The text then runs on yoga's own executor (`normalizedExecutor` of
 * @graphql-tools/executor, the same version) with the document yoga validated: not graphql-jit,
 * whose errors carry no `locations` and come after `data`, so a text's answer stays yoga's to
 * the byte, errors included. What the lane saves is yoga's fetch-API round trip, its plugin chain
 * and the document cache lookups; and, as for a persisted query, products are fetched with only
 * the fields the text reads (`productProjection`).
 *
 * Learned: queries (no mutation or subscription), sent by POST as `query` with no `extensions`,
 * not persisted operations, without `@defer` or `@stream`, whose cost does not depend on their
 * variables (graphql-armor's cost is priced again per request when two page sizes are variables:
 * useOperationLimits), at most `MAX_LEARNED_TEXT_LENGTH` characters; keyed by the exact text and
 * the operation name; `max` texts and `MAX_LEARNED_TEXT_TOTAL` characters kept at most. Only
 * with `PERSISTED_OPERATIONS=off` (the other modes refuse or look up text; yoga keeps it).
 */
export function createLearnedTexts({ schema, max = 1000, maxTotalLength = MAX_LEARNED_TEXT_TOTAL }: LearnedTextsOptions) {
  // By text, then operation name ('' for none); the outer map's order is its recency.
  const texts = new Map<string, Map<string, TextRunner>>();
  let totalLength = 0;

  function learn(query: string, operationName: string, document: DocumentNode) {
    let byName = texts.get(query);
    if (!byName) {
      while (texts.size > 0 && (texts.size >= max || totalLength + query.length > maxTotalLength)) {
        const oldest = texts.keys().next().value!;
        texts.delete(oldest);
        totalLength -= oldest.length;
      }
      texts.set(query, (byName = new Map()));
      totalLength += query.length;
    }
    if (byName.has(operationName)) return;
    const name = operationName || undefined;
    const run: TextRunner = (contextValue, variableValues) => {
      const result = normalizedExecutor({ schema, document, contextValue, variableValues, operationName: name });
      // Not `instanceof Promise`: under jest's VM modules promises may come from another realm.
      return 'then' in result ? (result as Promise<ExecutionResult | AsyncIterable<unknown>>).then(single) : single(result);
    };
    const productFields = productProjection(schema, document);
    if (productFields) run.productFields = productFields;
    byName.set(operationName, run);
  }

  return {
    /** How to run this text with this operation name, once yoga has run it; else `undefined` (yoga answers). */
    runnerFor(query: string, operationName: string | undefined): TextRunner | undefined {
      const byName = texts.get(query);
      const runner = byName?.get(operationName ?? '');
      if (!runner) return undefined;
      // Recently used: to the end of the map's order.
      texts.delete(query);
      texts.set(query, byName!);
      return runner;
    },
    get size() {
      return texts.size;
    },
    /** The yoga plugin that learns texts yoga runs. */
    plugin(): Plugin {
      return {
        onExecute({ args }) {
          const context = args.contextValue as { params?: { query?: unknown; operationName?: unknown; extensions?: unknown }; request?: Request };
          const params = context.params;
          if (!params || typeof params.query !== 'string' || params.query.length > MAX_LEARNED_TEXT_LENGTH) return;
          if (params.extensions != null || context.request?.method !== 'POST' || persistedOperationOf(params)) return;
          // No name, or a name: '' (or another type) is yoga's to judge, every time.
          const operationName = params.operationName == null ? '' : typeof params.operationName === 'string' && params.operationName !== '' ? params.operationName : undefined;
          if (operationName === undefined || getOperationAST(args.document, operationName || undefined)?.operation !== 'query') return;
          if (defersOrStreams(args.document) || costDependsOnVariables(args.document, operationName || undefined)) return;
          learn(params.query, operationName, args.document);
        },
      };
    },
  };
}

export type LearnedTexts = ReturnType<typeof createLearnedTexts>;
