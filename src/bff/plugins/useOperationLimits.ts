import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { getOperationAST, Kind, validate, visit, type DocumentNode, type GraphQLError, type GraphQLSchema, type ValidationContext, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clientError, ErrorCode } from '../errors/index.js';
import { persistedOperationOf } from './usePersistedOperations.js';

export interface UseOperationLimitsOptions {
  /** Deepest field nesting (fragments count at their use). @default 12 */
  maxDepth?: number;
  /** Aliased fields per operation (`__typename` aliases excepted): each alias is another resolver run. @default 20 */
  maxAliases?: number;
  /** Directives per operation. @default 20 */
  maxDirectives?: number;
  /** Lexical tokens per document, checked while parsing, so a huge document is dropped before it is built. @default 3000 */
  maxTokens?: number;
  /** graphql-armor's static cost (objects 2, scalars 1, ×1.5 per level, × a literal `first`/`last`): it catches lists nested in lists. @default 20000 */
  maxCost?: number;
}

/** graphql-armor reports as "Syntax Error: …"; the client gets the limit, with our code. */
const reject = (context: ValidationContext | null, error: GraphQLError) =>
  context?.reportError(clientError(ErrorCode.BadUserInput, error.message.replace(/^Syntax Error: /, ''), { status: 400 }));

const PAGE_ARGUMENTS = new Set(['first', 'last']);

/**
 * The document with every `first`/`last` given by a variable replaced by that variable's value
 * (or its default), so that graphql-armor's cost rule, which reads only literals, prices
 * `orders(first: $n)` as it prices `orders(first: 100)`. `undefined` when no page size is a
 * variable, or when the document has only one page size: one list cannot multiply another, and
 * a single page is bounded by its field's own maximum (a change set's 1000 included).
 */
function withPageSizesInlined(document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>): DocumentNode | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const defaults = new Map(operation.variableDefinitions?.map((d) => [d.variable.name.value, d.defaultValue]) ?? []);
  let found = false;
  let pageSizes = 0;
  const inlined = visit(document, {
    Argument(node) {
      if (!PAGE_ARGUMENTS.has(node.name.value)) return undefined;
      pageSizes++;
      if (node.value.kind !== Kind.VARIABLE) return undefined;
      found = true;
      const name = node.value.name.value;
      const value = variables[name];
      if (Number.isInteger(value)) return { ...node, value: { kind: Kind.INT, value: String(value) } };
      const fallback = defaults.get(name);
      return fallback ? { ...node, value: fallback } : undefined;
    },
  });
  return found && pageSizes > 1 ? inlined : undefined;
}

/**
 * Whether the cost of the operation depends on the request's variables: two page sizes or more,
 * one of them a variable. Such a document is priced again at every execution (`onExecute` below),
 * so what passed once says nothing about the next request (createLearnedTexts does not learn it).
 */
export function costDependsOnVariables(document: DocumentNode, operationName: string | null | undefined): boolean {
  return withPageSizesInlined(document, operationName, {}) !== undefined;
}

/**
 * Limits on what one document may ask for, from graphql-armor: depth, aliases, directives,
 * tokens and cost. They matter wherever free-form text runs (development, `allowlist`); a
 * persisted operation is parsed and validated once at start, so its requests skip them. A
 * document over a limit is refused before execution with `BAD_USER_INPUT` and HTTP 400. The cost
 * counts the values of variables that give a page size (`first: $n`).
 */
export function useOperationLimits({ maxDepth = 12, maxAliases = 20, maxDirectives = 20, maxTokens = 3000, maxCost = 20_000 }: UseOperationLimitsOptions = {}): Plugin {
  const common = { propagateOnRejection: false, exposeLimits: true, onReject: [reject] };
  const costRule = costLimitRule({ ...common, maxCost });
  const rules = [maxDepthRule({ ...common, n: maxDepth }), maxAliasesRule({ ...common, n: maxAliases }), maxDirectivesRule({ ...common, n: maxDirectives }), costRule];
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        const parser = new MaxTokensParserWLexer(source, { ...options, n: maxTokens });
        try {
          return parser.parseDocument();
        } catch (error) {
          if (parser.tokenCount <= maxTokens) throw error;
          throw clientError(ErrorCode.BadUserInput, `The document has more than ${maxTokens} tokens.`, { status: 400 });
        }
      });
    },
    onValidate({ addValidationRule }) {
      for (const rule of rules) addValidationRule(rule);
    },
    // Validation knows no variables: the cost is priced again with the page sizes the request
    // gives them, before anything runs.
    onExecute({ args, setResultAndStopExecution }) {
      if (persistedOperationOf((args.contextValue as { params?: unknown }).params)) return;
      const inlined = withPageSizesInlined(args.document, args.operationName, (args.variableValues ?? {}) as Record<string, unknown>);
      if (!inlined) return;
      const errors = validate(args.schema as GraphQLSchema, inlined, [costRule as ValidationRule]);
      if (errors.length) setResultAndStopExecution({ errors });
    },
  };
}
