import { getNamedType, getNullableType, isCompositeType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getDirective } from '@graphql-tools/utils';

/** How a GET response of an operation may be cached by phones and CDNs. */
export interface CachePolicy {
  /** Seconds; 0: revalidate every time (ETag). */
  maxAge: number;
  /** PRIVATE when any field served is the viewer's. */
  scope: 'PUBLIC' | 'PRIVATE';
  /**
   * A root field has no hint: the operation is not cacheable anywhere, the BFF's response cache
   * included (as opposed to an explicit `maxAge: 0`, "revalidate every time").
   */
  unhintedRoot?: true;
}

/**
 * The cache policy of an operation from the SDL's `@cacheControl(maxAge, scope)` hints on fields
 * and types: a root field without a hint is not cacheable (maxAge 0); a nested field inherits
 * its parent's unless it or its type has a hint; the smallest maxAge wins and one PRIVATE hint
 * makes the whole response private. Mutations and subscriptions are never cacheable.
 */
export function cachePolicy(schema: GraphQLSchema, document: DocumentNode): CachePolicy {
  let maxAge = Number.POSITIVE_INFINITY;
  let scope: CachePolicy['scope'] = 'PUBLIC';
  let cacheable = true;
  let unhintedRoot = false;
  const typeInfo = new TypeInfo(schema);
  let depth = 0;
  const hintOf = (node: Parameters<typeof getDirective>[1]) => getDirective(schema, node, 'cacheControl')?.[0] as { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' } | undefined;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      OperationDefinition(node) {
        if (node.operation !== 'query') cacheable = false;
      },
      // A fragment's fields are not root fields: they inherit from where the fragment is spread.
      FragmentDefinition: { enter: () => void (depth = Number.NEGATIVE_INFINITY), leave: () => void (depth = 0) },
      SelectionSet: { enter: () => void depth++, leave: () => void depth-- },
      Field(node) {
        if (node.name.value.startsWith('__')) return;
        const field = typeInfo.getFieldDef();
        if (!field) return;
        const type = getNamedType(getNullableType(field.type));
        const hints = [hintOf(field), isCompositeType(type) ? hintOf(type) : undefined].filter(Boolean) as { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' }[];
        if (hints.length === 0 && depth === 1) {
          maxAge = 0;
          unhintedRoot = true;
        }
        for (const hint of hints) {
          if (hint.maxAge !== undefined) maxAge = Math.min(maxAge, hint.maxAge);
          if (hint.scope === 'PRIVATE') scope = 'PRIVATE';
        }
      },
    }),
  );
  const policy: CachePolicy = cacheable && Number.isFinite(maxAge) ? { maxAge, scope } : { maxAge: 0, scope };
  if (unhintedRoot) policy.unhintedRoot = true;
  return policy;
}
