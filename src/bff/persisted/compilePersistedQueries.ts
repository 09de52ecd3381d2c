import type { GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { PersistedOperations } from './loadPersistedOperations.js';

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
    // do not have: such an operation still runs compiled, and yoga serializes it with JSON.stringify.
    // graphql-jit has no incremental delivery: a deferring query is compiled without its `@defer`,
    // for the clients that want one complete response; multipart clients run it through yoga's executor.
    const document = operation.withoutDefer ?? operation.document;
    const withSerializer = compileQuery(schema, document, operation.name, { disablingCapturingStackErrors: true, customJSONSerializer: true });
    const query = isCompiledQuery(withSerializer) ? withSerializer : compileQuery(schema, document, operation.name, { disablingCapturingStackErrors: true });
    if (isCompiledQuery(query)) compiled.set(operation.id, query);
  }
  return compiled;
}
