import DataLoader from 'dataloader';
import type { BatchResponse, OrderResource, ProductResource, UserResource } from '../../contracts/index.js';
import type { ScopedDownstream, ServiceName } from '../downstream/createDownstreamClient.js';
import { tagged, type OrderModel, type ProductModel, type UserModel } from '../models.js';

/**
 * Largest batch sent in one downstream call; a longer list is split into several calls. A page
 * of 100 orders of 5 lines stays one call for its products, and the URL stays under 8 KB.
 */
export const MAX_BATCH_SIZE = 500;

/**
 * One batch call `GET <path>?ids=a,b,c` for the keys DataLoader collected in one tick. Returns a
 * value per key, in key order: the item, `null` when the service does not know the key, or the
 * call's error for every key when the call failed (so one outage never throws past DataLoader).
 */
function batchByIds<R, M>(downstream: ScopedDownstream, service: ServiceName, path: string, keyOf: (item: R) => string, toModel: (item: R) => M, query = '') {
  const route = `GET ${path}?ids`;
  return async (keys: readonly string[]): Promise<(M | null | Error)[]> => {
    try {
      const { body } = await downstream.call<BatchResponse<R>>(service, { path: `${path}?ids=${keys.map(encodeURIComponent).join(',')}${query}`, route });
      const byKey = new Map(body.items.map((item) => [keyOf(item), toModel(item)]));
      return keys.map((key) => byKey.get(key) ?? null);
    } catch (error) {
      return keys.map(() => error as Error);
    }
  };
}

export interface LoaderOptions {
  /**
   * The product fields the request's query reads (`productProjection`): products are then fetched
   * with `&fields=` and hold `sku` and those fields only. Absent: whole products.
   */
  productFields?: readonly string[];
}

/**
 * The DataLoaders of one request, one per downstream resource: however many orders, customers
 * and products a query touches, each level costs one call per resource.
 */
export function createLoaders(downstream: ScopedDownstream, { productFields }: LoaderOptions = {}) {
  const options = { maxBatchSize: MAX_BATCH_SIZE };
  return {
    users: new DataLoader(
      batchByIds<UserResource, UserModel>(downstream, 'users', '/users', (u) => u.id, (u) => tagged(u, 'User')),
      options,
    ),
    products: new DataLoader(
      batchByIds<ProductResource, ProductModel>(
        downstream,
        'catalog',
        '/products',
        (p) => p.sku,
        (p) => tagged(p, 'Product'),
        productFields ? `&fields=${productFields.join(',')}` : '',
      ),
      options,
    ),
    orders: new DataLoader(
      batchByIds<OrderResource, OrderModel>(downstream, 'orders', '/orders', (o) => o.number, (o) => tagged(o, 'Order')),
      options,
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
