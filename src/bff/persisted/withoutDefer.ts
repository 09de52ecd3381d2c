import { visit, type DocumentNode } from 'graphql';

/**
 * The document with every `@defer` removed, or `undefined` when it has none: what a client that
 * does not accept `multipart/mixed` gets (one complete response), run on the compiled fast path.
 */
export function withoutDefer(document: DocumentNode): DocumentNode | undefined {
  let deferred = false;
  const stripped = visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer') return undefined;
      deferred = true;
      return null;
    },
  });
  return deferred ? stripped : undefined;
}
