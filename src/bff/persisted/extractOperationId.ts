/**
 * The persisted-operation id of a request, as Apollo Kotlin / Apollo iOS send it
 * (`extensions.persistedQuery.sha256Hash` with `version: 1`) or as the GraphQL-over-HTTP draft
 * does (top-level `documentId`, optionally `sha256:`-prefixed). `undefined` when the request
 * names none; the raw value when it names one we cannot read, so the client is told it is unknown.
 */
export function extractOperationId(params: { extensions?: unknown; documentId?: unknown }): string | undefined {
  const pq = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  // Only strings: `useInputValidation` refuses other types before this runs, and a value with its
  // own `toString` must never be converted here.
  if (pq && typeof pq === 'object' && pq.sha256Hash != null) return typeof pq.sha256Hash === 'string' ? pq.sha256Hash.toLowerCase() : '';
  if (params.documentId != null) return typeof params.documentId === 'string' ? params.documentId.replace(/^sha256:/i, '').toLowerCase() : '';
  return undefined;
}
