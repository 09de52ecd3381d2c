import { randomUUID } from 'node:crypto';
import type { TestSystem } from './startTestSystem.js';

const PLACE = /* GraphQL */ `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { number } userErrors { code } } }`;

/** A product's global id, as the graph exposes it. */
export const productId = (sku: string) => Buffer.from(`1:Product:${sku}`).toString('base64url');

/** Places an order of one `sku` for user `as` through the BFF; resolves with its number. */
export async function placeOrder(system: TestSystem, as: string, sku = 'SKU-0003'): Promise<string> {
  const { body } = await system.gql(PLACE, { input: { idempotencyKey: randomUUID(), lines: [{ productId: productId(sku), quantity: 1 }] } }, { as });
  expect(body.data.placeOrder.userErrors).toEqual([]);
  return body.data.placeOrder.order.number;
}

/** Changes an order's status on the orders service, as the fulfilment side does. */
export async function setOrderStatus(system: TestSystem, number: string, status: string): Promise<void> {
  const response = await fetch(`${system.serviceUrls.orders}/orders/${number}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
  expect(response.status).toBe(200);
}
