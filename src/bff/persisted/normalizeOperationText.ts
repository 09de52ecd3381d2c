import { Kind, parse, print, type DefinitionNode, type DocumentNode } from 'graphql';

const nameOf = (d: DefinitionNode) => ('name' in d && d.name ? d.name.value : '');

/** Operations first, then fragments, each group sorted by name; the order clients print them in varies. */
export function normalizeDocument(document: DocumentNode): string {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION);
  const sorted = [...operations.sort((a, b) => nameOf(a).localeCompare(nameOf(b))), ...fragments.sort((a, b) => nameOf(a).localeCompare(nameOf(b)))];
  return print({ ...document, definitions: sorted });
}

/**
 * The normalized form of an operation's text (re-printed, definitions in a fixed order), used in
 * `allowlist` mode to recognise a manifest body sent as text; `null` when it does not parse.
 */
export function normalizeOperationText(text: string): string | null {
  try {
    return normalizeDocument(parse(text, { noLocation: true }));
  } catch {
    return null;
  }
}
