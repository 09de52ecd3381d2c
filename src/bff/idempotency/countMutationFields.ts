import { getDirectiveValues, GraphQLIncludeDirective, GraphQLSkipDirective, Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * How many root fields the operation executes: response keys after fragments are spread and
 * `@skip`/`@include` applied (`__typename` is not a field that changes anything).
 */
export function countMutationFields({ operation, fragments, variableValues }: GraphQLResolveInfo): number {
  const keys = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (getDirectiveValues(GraphQLSkipDirective, selection, variableValues)?.if === true) continue;
      if (getDirectiveValues(GraphQLIncludeDirective, selection, variableValues)?.if === false) continue;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value !== '__typename') keys.add(selection.alias?.value ?? selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else {
        const fragment = fragments[selection.name.value];
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return keys.size;
}
