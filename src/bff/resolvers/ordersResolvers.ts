import type { ListResponse, OrderResource } from '../../contracts/index.js';
import { cursorScope, pageQuery, toConnection, toPageRequest } from '../connections/connection.js';
import { clientError, ErrorCode } from '../errors/index.js';
import type { Resolvers, UserError } from '../generated/resolvers.js';
import { fromGlobalId, toGlobalId } from '../ids/globalId.js';
import { downstreamIdempotencyKey } from '../idempotency/index.js';
import { tagged, type OrderModel } from '../models.js';
import { orderEventStream, type OrderEvent } from '../subscriptions/orderEventStream.js';
import { fetchChanges } from '../sync/fetchChanges.js';
import { syncScope } from '../sync/syncToken.js';
import { money, requireViewer, userError } from './shared.js';

const MAX_LINES = 50;
const MAX_QUANTITY = 999;
const toModel = (order: OrderResource): OrderModel => tagged(order, 'Order');

export const ordersResolvers: Resolvers = {
  User: {
    orders: async (user, args, ctx) => {
      if (ctx.viewer?.sub !== user.id) throw clientError(ErrorCode.Forbidden, "Only the viewer's own orders can be listed.");
      const scope = cursorScope('orders by createdAt desc, number desc', { user: user.id, status: args.status });
      const page = toPageRequest(args, scope, ['timestamp', 'text']);
      const query = `userId=${encodeURIComponent(user.id)}&${pageQuery(page)}${args.status ? `&status=${args.status}` : ''}`;
      const { body } = await ctx.downstream.call<ListResponse<OrderResource>>('orders', { path: `/orders?${query}`, route: 'GET /orders' });
      const items = body.items.map(toModel);
      for (const o of items) ctx.loaders.orders.prime(o.number, o);
      return toConnection({ ...body, items }, page, scope, (o) => [o.createdAt, o.number]);
    },
    orderChanges: async (user, args, ctx) => {
      if (ctx.viewer?.sub !== user.id) throw clientError(ErrorCode.Forbidden, "Only the viewer's own orders can be synced.");
      const page = await fetchChanges<OrderResource>(ctx, args, {
        service: 'orders',
        path: `/orders/changes?userId=${encodeURIComponent(user.id)}`,
        route: 'GET /orders/changes',
        scope: syncScope('orders', user.id),
      });
      const updated = page.updated.map(toModel);
      for (const o of updated) ctx.loaders.orders.prime(o.number, o);
      return { updated, deletedIds: page.deleted.map((number) => toGlobalId('Order', number)), syncToken: page.syncToken, hasMore: page.hasMore };
    },
  },
  Subscription: {
    orderEvents: {
      subscribe: (_parent, { since }, ctx) => orderEventStream(ctx, since, { resyncIntervalMs: ctx.subscriptionResyncMs }) as AsyncIterable<never>,
      resolve: (event: OrderEvent) => event,
    },
  },
  Order: {
    id: (order) => toGlobalId('Order', order.number),
    customer: (order, _args, ctx) => ctx.loaders.users.load(order.userId),
    // A literal, not `{ ...line, currency }`: a spread enumerates each parsed line's keys (~100
    // lines on the orders screen), a literal of the model's own fields does not.
    lines: (order) => order.lines.map((line) => ({ sku: line.sku, quantity: line.quantity, unitPriceCents: line.unitPriceCents, currency: order.currency })),
    total: (order) => money(order.totalCents, order.currency),
  },
  OrderLine: {
    product: (line, _args, ctx) => ctx.loaders.products.load(line.sku),
    unitPrice: (line) => money(line.unitPriceCents, line.currency),
  },
  Mutation: {
    placeOrder: async (_parent, { input }, ctx, info) => {
      const viewer = requireViewer(ctx);
      const errors: UserError[] = [];
      if (input.lines.length < 1 || input.lines.length > MAX_LINES) {
        errors.push(userError('INVALID_INPUT', `An order needs 1 to ${MAX_LINES} lines.`, ['lines']));
      }
      const skus = input.lines.slice(0, MAX_LINES).map((line, i) => {
        if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_QUANTITY) {
          errors.push(userError('INVALID_INPUT', `Choose a quantity from 1 to ${MAX_QUANTITY}.`, ['lines', String(i), 'quantity']));
        }
        const parsed = fromGlobalId(line.productId);
        if (parsed?.type !== 'Product') errors.push(userError('PRODUCT_NOT_FOUND', 'This product does not exist.', ['lines', String(i), 'productId']));
        return parsed?.type === 'Product' ? parsed.key : null;
      });
      if (errors.length) return { order: null, userErrors: errors };

      const products = await ctx.loaders.products.loadMany(skus as string[]);
      const failure = products.find((p) => p instanceof Error);
      if (failure) throw failure;
      products.forEach((p, i) => {
        if (p === null) errors.push(userError('PRODUCT_NOT_FOUND', 'This product is no longer available.', ['lines', String(i), 'productId']));
      });
      if (errors.length) return { order: null, userErrors: errors };
      const priced = products as Exclude<(typeof products)[number], Error | null>[];
      const currency = priced[0]!.currency;
      if (priced.some((p) => p.currency !== currency)) {
        return { order: null, userErrors: [userError('INVALID_INPUT', 'All products in one order must have the same currency.', ['lines'])] };
      }

      const { body } = await ctx.downstream.call<{ order: OrderResource }>('orders', {
        method: 'POST',
        path: '/orders',
        route: 'POST /orders',
        body: {
          userId: viewer.sub,
          currency,
          lines: input.lines.map((line, i) => ({ sku: priced[i]!.sku, quantity: line.quantity, unitPriceCents: priced[i]!.priceCents })),
          idempotencyKey: downstreamIdempotencyKey(ctx, info),
        },
        // 200: an earlier attempt of this request placed the order (its answer was lost).
        expect: [200, 201],
      });
      const order = toModel(body.order);
      ctx.loaders.orders.prime(order.number, order);
      return { order, userErrors: [] };
    },
    cancelOrder: async (_parent, { input }, ctx, info) => {
      const viewer = requireViewer(ctx);
      const parsed = fromGlobalId(input.orderId);
      if (parsed?.type !== 'Order') return { order: null, userErrors: [userError('NOT_FOUND', 'This order does not exist.', ['orderId'])] };
      const response = await ctx.downstream.call<{ order?: OrderResource; message?: string }>('orders', {
        method: 'POST',
        path: `/orders/${encodeURIComponent(parsed.key)}/cancel`,
        route: 'POST /orders/:number/cancel',
        body: { userId: viewer.sub, idempotencyKey: downstreamIdempotencyKey(ctx, info) },
        expect: [200, 404, 409],
      });
      if (response.status === 404) return { order: null, userErrors: [userError('NOT_FOUND', 'This order does not exist.', ['orderId'])] };
      const order = toModel(response.body.order!);
      ctx.loaders.orders.clear(order.number).prime(order.number, order);
      if (response.status === 409) {
        return { order, userErrors: [userError('ORDER_NOT_CANCELLABLE', `This order is ${order.status.toLowerCase()} and can no longer be cancelled.`, ['orderId'])] };
      }
      return { order, userErrors: [] };
    },
  },
};
