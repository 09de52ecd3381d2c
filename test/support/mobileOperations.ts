import { randomUUID } from 'node:crypto';
import { signDevToken } from '../../src/auth/index.js';
import { operation, type ManifestOperation } from './apolloManifest.js';
import { productId } from './orders.js';
import type { TestSystem } from './startTestSystem.js';

/**
 * What a mobile app ships for its order screens, as Apollo's generators write it (`__typename`
 * in every selection set but the root's): for tests that run the production mode
 * (`PERSISTED_OPERATIONS=require`), where every query and mutation goes by hash.
 */
export const ORDER_EVENTS = operation(
  'OrderEvents',
  'subscription',
  'subscription OrderEvents($since: SyncToken) { orderEvents(since: $since) { syncToken order { id number status } } }',
);
export const PLACE_ORDER = operation('PlaceOrder', 'mutation', 'mutation PlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id number } userErrors { code } } }');
export const ORDER_SYNC_TOKEN = operation('OrderSyncToken', 'query', 'query OrderSyncToken { viewer { id orderChanges(first: 1000) { syncToken hasMore } } }');
export const CATALOG_PAGE = operation('CatalogPage', 'query', 'query CatalogPage($first: Int) { products(first: $first) { edges { node { id name } } } }');
export const MOBILE_OPERATIONS: ManifestOperation[] = [ORDER_EVENTS, PLACE_ORDER, ORDER_SYNC_TOKEN, CATALOG_PAGE];

/** The body of a request by hash, as Apollo Kotlin and Apollo iOS send it: no `query`. */
export const byHash = (op: ManifestOperation, variables?: Record<string, unknown>) => ({
  operationName: op.name,
  ...(variables ? { variables } : {}),
  extensions: { persistedQuery: { version: 1, sha256Hash: op.id } },
});

export const bearer = async (sub: string) => `Bearer ${await signDevToken({ sub })}`;

/** POSTs an operation by hash as user `as`; resolves with the response body. */
export async function postByHash(system: TestSystem, op: ManifestOperation, variables: Record<string, unknown> | undefined, as: string): Promise<any> {
  const response = await fetch(system.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: await bearer(as) },
    body: JSON.stringify(byHash(op, variables)),
  });
  const body = (await response.json()) as any;
  if (response.status !== 200 || body.errors) throw new Error(`${op.name}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Places an order of one product for `as`, by hash; resolves with its number. */
export async function placeOrderByHash(system: TestSystem, as: string): Promise<string> {
  const body = await postByHash(system, PLACE_ORDER, { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0003'), quantity: 1 }] } }, as);
  return body.data.placeOrder.order.number;
}

/** Where `as`'s order feed stands now: a `since` from which a subscription gets every later change. */
export async function orderSyncToken(system: TestSystem, as: string): Promise<string> {
  const body = await postByHash(system, ORDER_SYNC_TOKEN, undefined, as);
  if (body.data.viewer.orderChanges.hasMore) throw new Error('more than one page of order changes: use a fresh user');
  return body.data.viewer.orderChanges.syncToken;
}
