import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientError, ErrorCode } from '../errors/index.js';
import { findUnstorableText, isStorableText } from '../../util/storableText.js';

const UNSTORABLE_MESSAGE = 'text must not contain NUL characters or unpaired surrogates (it cannot be stored as UTF-8)';

const refuse = (message: string) => clientError(ErrorCode.BadUserInput, message, { status: 400 });

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The shape of a request's parameters, checked before anything reads them: a client may send
 * any JSON there, and an object where a string belongs (a `sha256Hash` with its own `toString`)
 * must be a 400, not an exception inside a lookup.
 */
function checkShape(params: Record<string, unknown>): void {
  for (const name of ['query', 'operationName', 'documentId'] as const) {
    const value = params[name];
    if (value != null && typeof value !== 'string') throw refuse(`${name}: expected a string.`);
  }
  for (const name of ['variables', 'extensions'] as const) {
    const value = params[name];
    if (value != null && !isPlainObject(value)) throw refuse(`${name}: expected an object.`);
  }
  const persistedQuery = (params.extensions as Record<string, unknown> | undefined)?.persistedQuery;
  if (persistedQuery != null) {
    if (!isPlainObject(persistedQuery)) throw refuse('extensions.persistedQuery: expected an object.');
    if (persistedQuery.sha256Hash != null && typeof persistedQuery.sha256Hash !== 'string') throw refuse('extensions.persistedQuery.sha256Hash: expected a string.');
  }
}

/**
 * The check of a request's parameters (the plugin's `onParams`, and the by-hash lane's): throws
 * `BAD_USER_INPUT` (400) for a parameter of the wrong type or a variable that is not storable text.
 */
export function checkParams(params: Record<string, unknown>): void {
  checkShape(params);
  const at = findUnstorableText(params.variables, 'variables');
  if (at) throw refuse(`${at}: ${UNSTORABLE_MESSAGE}.`);
}

/** Refuses string literals of a document that are not storable text (`"\u0000"` in a query's text). */
function storableLiteralsRule(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node) {
      if (!isStorableText(node.value)) context.reportError(new GraphQLError(`A string literal: ${UNSTORABLE_MESSAGE}.`, { nodes: [node], extensions: { code: ErrorCode.BadUserInput } }));
    },
  };
}

/**
 * A client's input is checked before it can reach a service (design.md §9, issue 13): the
 * request's parameters have the types the GraphQL-over-HTTP spec gives them, and no string the
 * operation receives — any variable, at any depth of an input object or list, and any literal of
 * a text document — holds a NUL or an unpaired surrogate, which PostgreSQL would refuse. Either
 * is `BAD_USER_INPUT` (400) on every transport that goes through yoga (HTTP, batches, SSE,
 * WebSocket). Persisted documents were checked at start; their variables are checked here too.
 * This runs before persisted operations are looked up, so the lookup only sees well-typed ids.
 * A GET's `variables` or `extensions` that are not JSON are `BAD_USER_INPUT` too.
 */
export function useInputValidation(): Plugin {
  return {
    // A GET's `variables` and `extensions` are JSON in the query string, which yoga parses with a
    // bare JSON.parse: malformed, they are the client's input (400), not an unexpected error.
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof SyntaxError) throw refuse('variables and extensions must be JSON objects.');
          throw error;
        }
      });
    },
    onParams({ params }) {
      checkParams(params as unknown as Record<string, unknown>);
    },
    onValidate({ addValidationRule }) {
      addValidationRule(storableLiteralsRule);
    },
  };
}
