import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/projectRoot.js';

interface ManifestOperation {
  id: string;
  body: string;
  name: string;
}

/** A first-party persisted operation (id and body) from `persisted-queries/first-party.json`. */
export function firstPartyOperation(name: string): ManifestOperation {
  const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: ManifestOperation[] };
  const operation = manifest.operations.find((o) => o.name === name);
  if (!operation) throw new Error(`No operation ${name} in persisted-queries/first-party.json`);
  return operation;
}

/** Request bodies and URLs for one operation: as text, by hash (POST), by hash (GET). */
export function requestsFor(graphqlUrl: string, operation: ManifestOperation, variables: Record<string, unknown>) {
  const extensions = { persistedQuery: { version: 1, sha256Hash: operation.id } };
  const query = new URLSearchParams({ operationName: operation.name, variables: JSON.stringify(variables), extensions: JSON.stringify(extensions) });
  return {
    text: JSON.stringify({ query: operation.body, operationName: operation.name, variables }),
    byHash: JSON.stringify({ operationName: operation.name, variables, extensions }),
    getUrl: `${graphqlUrl}?${query}`,
  };
}

type Body = { data?: any; errors?: unknown[] };

/** The orders screen's answer has the shape a client expects: `count` orders, each with its customer, lines and products. */
export function checkOrderList(body: Body, count: number): string | undefined {
  if (body.errors?.length) return `errors: ${JSON.stringify(body.errors).slice(0, 300)}`;
  const edges = body.data?.viewer?.orders?.edges;
  if (!Array.isArray(edges) || edges.length !== count) return `expected ${count} orders, got ${Array.isArray(edges) ? edges.length : JSON.stringify(body).slice(0, 200)}`;
  for (const { node } of edges) {
    if (typeof node?.customer?.name !== 'string') return `an order without its customer: ${JSON.stringify(node).slice(0, 200)}`;
    if (!Array.isArray(node.lines) || node.lines.length === 0) return `an order without lines: ${JSON.stringify(node).slice(0, 200)}`;
    for (const line of node.lines) if (typeof line?.product?.name !== 'string') return `a line without its product: ${JSON.stringify(line)}`;
    if (typeof node.total?.amount !== 'number') return `an order without a total: ${JSON.stringify(node).slice(0, 200)}`;
  }
  return undefined;
}
