import type { Manifest } from '../persisted/index.js';

export interface ClientLabels {
  client_name: string;
  client_version: string;
}

/**
 * Metric labels for the app that sent a request (`apollographql-client-name` / `-version`),
 * bounded by the manifests: a client name or version that no manifest names is `other`, a missing
 * header `unknown`. A client cannot create series by inventing names; a new app release gets its
 * own series as soon as its manifest is shipped.
 */
export function clientLabels(manifests: readonly Manifest[]): (name: string | null, version: string | null) => ClientLabels {
  const versions = new Map<string, Set<string>>();
  for (const { release } of manifests) {
    if (!release) continue;
    let set = versions.get(release.clientName);
    if (!set) versions.set(release.clientName, (set = new Set()));
    set.add(release.version);
  }
  return (name, version) => {
    if (!name) return { client_name: 'unknown', client_version: version ? 'other' : 'unknown' };
    const known = versions.get(name);
    if (!known) return { client_name: 'other', client_version: 'other' };
    return { client_name: name, client_version: !version ? 'unknown' : known.has(version) ? version : 'other' };
  };
}
