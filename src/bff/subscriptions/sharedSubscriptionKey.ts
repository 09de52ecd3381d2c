import { Kind, type OperationDefinitionNode, type ValueNode } from 'graphql';
import type { PersistedOperation } from '../persisted/index.js';

/** JSON with object keys sorted, so that `{a, b}` and `{b, a}` give one key. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The key under which identical subscriptions of one viewer may share one source stream and one
 * execution per event, or `undefined` when this one must run on its own.
 *
 * Shared: a persisted subscription (its document is known and fixed), for a signed-in viewer,
 * with the same operation and variables, that asks for changes from now on: no resume position
 * (`since`) on any root field. A subscriber joining a stream that has already run gets the events
 * from the moment it joined, which is what "from now on" means. One that resumes from a `since`
 * needs the changes after that position first, so it always gets its own stream.
 */
export function sharedSubscriptionKey(operation: PersistedOperation | undefined, request: { operationName?: string | null; variables?: Record<string, unknown> | null }, viewerSub: string | undefined): string | undefined {
  if (!operation || operation.type !== 'subscription' || !viewerSub) return undefined;
  if (request.operationName && request.operationName !== operation.name) return undefined;
  const definition = operation.document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!definition) return undefined;
  const variables = request.variables ?? {};
  const isNull = (value: ValueNode): boolean => {
    if (value.kind === Kind.NULL) return true;
    if (value.kind !== Kind.VARIABLE) return false;
    const given = variables[value.name.value];
    if (given !== undefined) return given === null;
    const fallback = definition.variableDefinitions?.find((v) => v.variable.name.value === value.name.value)?.defaultValue;
    return !fallback || fallback.kind === Kind.NULL;
  };
  for (const selection of definition.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return undefined;
    if (selection.arguments?.some((argument) => argument.name.value === 'since' && !isNull(argument.value))) return undefined;
  }
  return `${viewerSub}\u0000${operation.id}\u0000${canonicalJson(variables)}`;
}
