import type { GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { PersistedOperations } from './loadPersistedOperations.js';

/**
 * Compiles every persisted query (graphql-jit) once, at start: a request by id then runs a
 * function generated for exactly its selection, without graphql-js walking the document, and
 * coerces its variables with a generated coercer. Mutations are left to graphql-js: they are
 * dominated by their writes, and `@idempotent` wrappers see the same `info` as ever.
 * An operation graphql-jit cannot compile simply runs uncompiled. `previous`: the queries compiled
 * before a reload, reused by id.
 *
 * Answers are serialized by `JSON.stringify` (graphql-jit's `stringify` without
 * `customJSONSerializer`), not by a serializer generated from the selection (issue 15): the
 * generated one (fast-json-stringify's way, by string concatenation) allocated ~118 KB to write
 * the orders screen's 12.8 KB, against ~13 KB for `JSON.stringify`, whose output is also flat
 * (no rope to flatten for `Content-Length`); on the by-hash orders screen the BFF allocated
 * ~70 KB less per request and its scavenges took ~15% less time, for ~10 µs more of
 * serializing. Same bytes: the compiled result's keys are in selection order.
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
    // graphql-jit has no incremental delivery: a deferring query is compiled without its `@defer`,
    // for the clients that want one complete response; multipart clients run it through yoga's executor.
    const query = compileQuery(schema, operation.withoutDefer ?? operation.document, operation.name, { disablingCapturingStackErrors: true });
    if (isCompiledQuery(query)) compiled.set(operation.id, query);
  }
  return compiled;
}
