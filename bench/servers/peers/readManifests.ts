import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The operations of every `*.json` manifest in `dir` (Apollo's `apollo-persisted-query-manifest`
 * format), id → body: the store a user of a peer server fills from the same manifests the BFF
 * serves, as those servers' docs show (a plain lookup by hash).
 */
export function readManifests(dir: string): Map<string, string> {
  const bodies = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const manifest = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { operations?: { id: string; body: string }[] };
    for (const { id, body } of manifest.operations ?? []) bodies.set(id, body);
  }
  return bodies;
}
