import type { ChangesResponse, OrderResource, ProductResource } from '../../contracts/index.js';
import type { DownstreamClient } from '../downstream/createDownstreamClient.js';
import { FeedPositionExpired, type FeedReader } from './createResponseCache.js';
import { orderEntity, ordersOfUser, PRODUCT_LISTS, productEntity, type FeedName } from './entities.js';

const PAGE = 1000;

/**
 * The change feeds the response cache checks its entries against: the catalog's
 * (`GET /products/changes`) and every user's orders in one (`GET /orders/feed`), each read from
 * its head (`head=1`) on, a page of up to 1000 changes at a time, each read within `deadlineMs`
 * (the request budget).
 */
export function changeFeedReaders(downstream: Pick<DownstreamClient, 'call'>, { deadlineMs }: { deadlineMs: number }): Record<FeedName, FeedReader> {
  async function page<T>(service: 'catalog' | 'orders', path: string, route: string, since: string | undefined) {
    const query = since === undefined ? 'head=1' : `since=${encodeURIComponent(since)}&limit=${PAGE}`;
    // A lookup waits for this read: it gets the request's budget, not the service's own (longer)
    // timeout, so a stalled service makes the lookup answer its last good result within the budget.
    const { status, body } = await downstream.call<ChangesResponse<T>>(service, { path: `${path}?${query}`, route, expect: [200, 410] }, { deadline: Date.now() + deadlineMs });
    if (status === 410) throw new FeedPositionExpired(`${service} ${path}: position ${since} expired`);
    return body;
  }
  return {
    products: {
      service: 'catalog',
      async read(since) {
        const body = await page<ProductResource>('catalog', '/products/changes', 'GET /products/changes', since);
        const keys = [...body.updated.map((p) => p.sku), ...body.deleted];
        return { entities: keys.length ? [PRODUCT_LISTS, ...keys.map(productEntity)] : [], next: body.next, hasMore: body.hasMore };
      },
    },
    orders: {
      service: 'orders',
      async read(since) {
        const body = await page<OrderResource>('orders', '/orders/feed', 'GET /orders/feed', since);
        return { entities: body.updated.flatMap((o) => [orderEntity(o.number), ordersOfUser(o.userId)]), next: body.next, hasMore: body.hasMore };
      },
    },
  };
}
