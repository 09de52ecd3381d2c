import { normalizedExecutor } from '@graphql-tools/executor';
import { getOperationAST, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { persistedOperationOf } from '../plugins/usePersistedOperations.js';

/** Longer texts are never learned (apps' queries are a few KB; this bounds the memory kept). */
export const MAX_LEARNED_TEXT_LENGTH = 16 * 1024;

/** Runs a learned text: with the request's context and variables, to one result. */
export type TextRunner = (contextValue: unknown, variableValues: Record<string, unknown> | undefined) => ExecutionResult | Promise<ExecutionResult>;

export interface LearnedTextsOptions {
  schema: GraphQLSchema;
  /** Texts kept, least recently used dropped first. @default 1000 (yoga's own document cache keeps as many) */
  max?: number;
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
 * and the document cache lookups.
 *
 * Learned: queries (no mutation or subscription), sent by POST as `query` with no `extensions`,
 * not persisted operations, without `@defer` or `@stream`, at most `MAX_LEARNED_TEXT_LENGTH`
 * characters; keyed by the exact text and the operation name. Only with
 * `PERSISTED_OPERATIONS=off` (the other modes refuse or look up text; yoga keeps it).
 */
export function createLearnedTexts({ schema, max = 1000 }: LearnedTextsOptions) {
  // By text, then operation name ('' for none); the outer map's order is its recency.
  const texts = new Map<string, Map<string, TextRunner>>();

  function learn(query: string, operationName: string, document: DocumentNode) {
    let byName = texts.get(query);
    if (!byName) {
      if (texts.size >= max) texts.delete(texts.keys().next().value!);
      texts.set(query, (byName = new Map()));
    }
    if (byName.has(operationName)) return;
    const name = operationName || undefined;
    byName.set(operationName, (contextValue, variableValues) => normalizedExecutor({ schema, document, contextValue, variableValues, operationName: name }) as ExecutionResult | Promise<ExecutionResult>);
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
          if (operationName === undefined || /@(defer|stream)\b/.test(params.query)) return;
          if (getOperationAST(args.document, operationName || undefined)?.operation !== 'query') return;
          learn(params.query, operationName, args.document);
        },
      };
    },
  };
}

export type LearnedTexts = ReturnType<typeof createLearnedTexts>;
