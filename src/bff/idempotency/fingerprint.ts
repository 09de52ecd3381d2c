import { createHash } from 'node:crypto';

/**
 * sha256 (hex) of the canonical JSON of `value`: object keys sorted at every level and undefined
 * members left out, so equal arguments give equal fingerprints whatever order the client wrote
 * them in, literally or through variables. `null` stays distinct from absent.
 */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const members = Object.keys(object)
      .filter((k) => object[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}
