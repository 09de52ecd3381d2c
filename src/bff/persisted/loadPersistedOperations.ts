import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { productProjection } from '../loaders/productProjection.js';
import { cachePolicy, type CachePolicy } from './cachePolicy.js';
import { deferValidationRules } from './deferValidationRules.js';
import { normalizeDocument } from './normalizeOperationText.js';
import { parseManifestName, type ManifestRelease } from './parseManifestName.js';
import { withoutDefer } from './withoutDefer.js';

/** One operation a released client may send by id, prepared at start. */
export interface PersistedOperation {
  /** sha256 of `body`, lowercase hex. */
  id: string;
  name: string;
  type: 'query' | 'mutation' | 'subscription';
  body: string;
  /** Parsed and validated once; requests by id reuse it. */
  document: DocumentNode;
  /** When the operation uses `@defer`: the same without it, for clients that do not accept `multipart/mixed`. */
  withoutDefer?: DocumentNode;
  /** The manifests that list it (one per app version that shipped it). */
  files: string[];
  cachePolicy: CachePolicy;
  /** For a query: the product fields it reads (`productProjection`), which the by-hash lane fetches alone. Absent: whole products. */
  productFields?: readonly string[];
}

/** One manifest file: an app release (`<client-name>-<version>.json`), or the first-party one (`release: null`). */
export interface Manifest {
  file: string;
  release: ManifestRelease | null;
  /** The ids it lists, in its order. */
  operationIds: string[];
}

export interface PersistedOperations {
  byId: ReadonlyMap<string, PersistedOperation>;
  /** Keyed by the normalized text, for `allowlist` mode. */
  byNormalizedText: ReadonlyMap<string, PersistedOperation>;
  files: string[];
  /** Every manifest, by file name order. */
  manifests: Manifest[];
}

/** A manifest that cannot be served: the server refuses to start, and `npm run persisted:check` fails. */
export class ManifestError extends Error {
  override name = 'ManifestError';
}

interface ManifestEntry {
  id: unknown;
  body: unknown;
  name: unknown;
  type: unknown;
}

/**
 * Loads every `*.json` manifest in `dir` (Apollo's `apollo-persisted-query-manifest` format,
 * version 1), and parses and validates each operation against `schema` once. Throws a
 * `ManifestError` naming PERSISTED_QUERIES_DIR when `dir` is not a folder, and a
 * `ManifestError` naming the file, operation and id when an operation no longer validates, when
 * an id is not the sha256 of its body, when one id maps to two bodies, or when a file is not named
 * for its app release (`<client-name>-<version>.json`, or `first-party.json`): a schema change
 * that would break a shipped app fails here, before deploy, not on the phone. Every problem of
 * every file is listed, so the message names every app version a change breaks. `previous` (a
 * reload, against the same schema): its operations are reused for the ids it already prepared.
 */
export function loadPersistedOperations(schema: GraphQLSchema, dir: string, { previous }: { previous?: PersistedOperations } = {}): PersistedOperations {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch (error) {
    // A server without its manifests would refuse every app: that must stop the deploy, not the users.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ManifestError(`PERSISTED_QUERIES_DIR: ${dir} is not a folder (${code}); expected the folder of the persisted-query manifests (*.json).`);
    throw error;
  }
  const byId = new Map<string, PersistedOperation>();
  const manifests: Manifest[] = [];
  const problems: string[] = [];
  /** File → the operations in it that cannot be served (none listed: the whole file). */
  const affected = new Map<string, Set<string>>();
  const refuse = (file: string, problem: string, operation?: string) => {
    problems.push(problem);
    let names = affected.get(file);
    if (!names) affected.set(file, (names = new Set()));
    if (operation) names.add(operation);
  };
  for (const file of files) {
    const path = join(dir, file);
    let release: ManifestRelease | null;
    try {
      release = parseManifestName(file);
    } catch (error) {
      refuse(file, `${path}: ${(error as Error).message}`);
      continue;
    }
    const manifestEntry: Manifest = { file, release, operationIds: [] };
    let manifest: { format?: unknown; version?: unknown; operations?: unknown };
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      refuse(file, `${path}: not JSON (${(error as Error).message})`);
      continue;
    }
    if (manifest.format !== 'apollo-persisted-query-manifest' || manifest.version !== 1 || !Array.isArray(manifest.operations)) {
      refuse(file, `${path}: expected {"format":"apollo-persisted-query-manifest","version":1,"operations":[...]}`);
      continue;
    }
    manifests.push(manifestEntry);
    for (const [index, entry] of (manifest.operations as ManifestEntry[]).entries()) {
      const name = typeof entry?.name === 'string' ? entry.name : `#${index}`;
      const where = `${path}: operation ${name} (${typeof entry?.id === 'string' ? entry.id : 'no id'})`;
      if (typeof entry?.id !== 'string' || typeof entry.body !== 'string' || typeof entry.name !== 'string') {
        refuse(file, `${where}: expected string "id", "body" and "name"`, name);
        continue;
      }
      const id = entry.id.toLowerCase();
      manifestEntry.operationIds.push(id);
      const digest = createHash('sha256').update(entry.body).digest('hex');
      if (id !== digest) {
        refuse(file, `${where}: the id is not the sha256 of the body (that is ${digest})`, name);
        continue;
      }
      const known = byId.get(id);
      if (known) {
        if (known.body !== entry.body) refuse(file, `${where}: the id is listed with another body in ${known.files.join(', ')}`, name);
        else known.files.push(file);
        continue;
      }
      // A reload: an id is the sha256 of its body and the schema is the one it was validated
      // against, so an operation prepared before is the same work done again. Only new ones cost.
      const prepared = previous?.byId.get(id);
      if (prepared && prepared.body === entry.body && prepared.name === entry.name) {
        byId.set(id, { ...prepared, files: [file] });
        continue;
      }
      let document: DocumentNode;
      try {
        document = parse(entry.body);
      } catch (error) {
        refuse(file, `${where}: ${(error as Error).message}`, name);
        continue;
      }
      const errors = validate(schema, document, deferValidationRules());
      if (errors.length) {
        refuse(file, `${where} no longer validates against the schema: ${errors.map((e) => e.message).join('; ')}`, name);
        continue;
      }
      const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      const stripped = withoutDefer(document);
      const productFields = productProjection(schema, document);
      byId.set(id, {
        id,
        name: entry.name,
        type: operation!.operation,
        body: entry.body,
        document,
        ...(stripped ? { withoutDefer: stripped } : {}),
        files: [file],
        cachePolicy: cachePolicy(schema, document),
        ...(productFields ? { productFields } : {}),
      });
    }
  }
  if (problems.length) {
    const summary = [...affected].map(([file, names]) => (names.size ? `${file} (${[...names].join(', ')})` : file)).join('; ');
    throw new ManifestError(`Persisted operations that cannot be served:\n  ${problems.join('\n  ')}\nManifests (app versions) affected: ${summary}`);
  }
  const byNormalizedText = new Map([...byId.values()].map((op) => [normalizeDocument(op.document), op]));
  return { byId, byNormalizedText, files, manifests };
}
