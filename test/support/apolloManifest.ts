import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kind, parse, print, visit, type FieldNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

/**
 * An operation body the way Apollo Kotlin and Apollo iOS write it into their manifests:
 * `__typename` added to every selection set but the operation's root.
 */
export function apolloBody(text: string): string {
  const roots = new Set<SelectionSetNode>();
  const document = parse(text);
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) roots.add((d as OperationDefinitionNode).selectionSet);
  return print(
    visit(document, {
      SelectionSet(node) {
        if (roots.has(node) || node.selections.some((s) => s.kind === Kind.FIELD && s.name.value === '__typename')) return undefined;
        return { ...node, selections: [...node.selections, TYPENAME] };
      },
    }),
  );
}

export interface ManifestOperation {
  id: string;
  body: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
}

export const operation = (name: string, type: ManifestOperation['type'], text: string): ManifestOperation => {
  const body = apolloBody(text);
  return { id: createHash('sha256').update(body).digest('hex'), body, name, type };
};

/** A fresh PERSISTED_QUERIES_DIR holding one manifest file per entry of `manifests`. */
export function writeManifests(manifests: Record<string, ManifestOperation[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mobile-bff-manifests-'));
  for (const [file, operations] of Object.entries(manifests)) {
    writeFileSync(join(dir, file), JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations }, null, 2));
  }
  return dir;
}
