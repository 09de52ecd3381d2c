import { buildASTSchema, Kind, parse, printSchema, visit, type DocumentNode, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { STRING_SCALARS } from '../resolvers/scalarResolvers.js';
import type { PersistedOperations } from './loadPersistedOperations.js';

/** The schema with every custom scalar that serializes to a string (`STRING_SCALARS`) as `String`: the shape graphql-jit's serializer generator understands. */
const stringScalarSchemas = new WeakMap<GraphQLSchema, GraphQLSchema>();
function withStringScalars(schema: GraphQLSchema): GraphQLSchema {
  let variant = stringScalarSchemas.get(schema);
  if (!variant) {
    // Types only (the serializer needs no resolver): the SDL with those scalars' definitions dropped and their uses renamed.
    const sdl = visit(parse(printSchema(schema)), {
      ScalarTypeDefinition: (node) => (STRING_SCALARS.has(node.name.value) ? null : undefined),
      NamedType: (node) => (STRING_SCALARS.has(node.name.value) ? { ...node, name: { ...node.name, value: 'String' } } : undefined),
    });
    variant = buildASTSchema(sdl, { assumeValidSDL: true });
    stringScalarSchemas.set(schema, variant);
  }
  return variant;
}

/**
 * A generated serializer for a query with custom scalar leaves, which graphql-jit cannot build
 * from the real schema (its JSON schema knows the built-in scalars only): built from the schema
 * whose string scalars are `String`, for the query without its variable definitions (their types
 * may be those scalars; the serializer depends on the selection only). `undefined` when even that
 * cannot be built (a custom scalar that is not a string).
 */
function serializerWithStringScalars(schema: GraphQLSchema, document: DocumentNode, name: string): CompiledQuery['stringify'] | undefined {
  const withoutVariables: DocumentNode = {
    ...document,
    definitions: document.definitions.map((definition) => (definition.kind === Kind.OPERATION_DEFINITION ? { ...definition, variableDefinitions: [] } : definition)),
  };
  try {
    const compiled = compileQuery(withStringScalars(schema), withoutVariables, name, { disablingCapturingStackErrors: true, customJSONSerializer: true });
    return isCompiledQuery(compiled) ? compiled.stringify : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compiles every persisted query (graphql-jit) once, at start: a request by id then runs a
 * function generated for exactly its selection, without graphql-js walking the document, and
 * coerces its variables with a generated coercer, and, where graphql-jit can generate one, its
 * answer has a serializer generated from its selection (`stringify`). Mutations are left to graphql-js: they are
 * dominated by their writes, and `@idempotent` wrappers see the same `info` as ever.
 * An operation graphql-jit cannot compile simply runs uncompiled. `previous`: the queries compiled
 * before a reload, reused by id.
 */
export function compilePersistedQueries(schema: GraphQLSchema, operations: PersistedOperations, previous?: ReadonlyMap<string, CompiledQuery>): ReadonlyMap<string, CompiledQuery> {
  const compiled = new Map<string, CompiledQuery>();
  for (const operation of operations.byId.values()) {
    if (operation.type !== 'query') continue;
    // A reload: what was compiled for an id (the sha256 of its body) is still right for it.
    const before = previous?.get(operation.id);
    if (before) {
      compiled.set(operation.id, before);
      continue;
    }
    // The generated serializer needs a JSON type for every leaf, which custom scalars (DateTime)
    // do not have: such an operation runs compiled with a serializer generated from the schema
    // whose string scalars are `String` (or, should that fail, JSON.stringify).
    // graphql-jit has no incremental delivery: a deferring query is compiled without its `@defer`,
    // for the clients that want one complete response; multipart clients run it through yoga's executor.
    const document = operation.withoutDefer ?? operation.document;
    const withSerializer = compileQuery(schema, document, operation.name, { disablingCapturingStackErrors: true, customJSONSerializer: true });
    if (isCompiledQuery(withSerializer)) {
      compiled.set(operation.id, withSerializer);
      continue;
    }
    const query = compileQuery(schema, document, operation.name, { disablingCapturingStackErrors: true });
    if (!isCompiledQuery(query)) continue;
    const stringify = serializerWithStringScalars(schema, document, operation.name);
    compiled.set(operation.id, stringify ? Object.assign(query, { stringify }) : query);
  }
  return compiled;
}
