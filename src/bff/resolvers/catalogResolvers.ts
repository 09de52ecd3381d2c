import type { ListResponse, ProductResource } from '../../contracts/index.js';
import { cursorScope, pageQuery, toConnection, toPageRequest } from '../connections/connection.js';
import { clientError, ErrorCode } from '../errors/index.js';
import type { Resolvers } from '../generated/resolvers.js';
import { fromGlobalId, toGlobalId } from '../ids/globalId.js';
import { tagged, type ProductModel } from '../models.js';
import { fetchChanges } from '../sync/fetchChanges.js';
import { syncScope } from '../sync/syncToken.js';
import { money, sizedImageUrl } from './shared.js';

const MAX_SEARCH_LENGTH = 100;

export const catalogResolvers: Resolvers = {
  Query: {
    products: async (_parent, args, ctx) => {
      const search = args.search?.trim() || undefined;
      if (search && search.length > MAX_SEARCH_LENGTH) {
        throw clientError(ErrorCode.BadUserInput, `search: expected at most ${MAX_SEARCH_LENGTH} characters, got ${search.length}.`, { argument: 'search' });
      }
      const scope = cursorScope('products by name, sku', { search });
      const page = toPageRequest(args, scope, ['text', 'text']);
      const query = pageQuery(page) + (search ? `&search=${encodeURIComponent(search)}` : '');
      const { body } = await ctx.downstream.call<ListResponse<ProductResource>>('catalog', { path: `/products?${query}`, route: 'GET /products' });
      const items = body.items.map((p): ProductModel => tagged(p, 'Product'));
      for (const p of items) ctx.loaders.products.prime(p.sku, p);
      return toConnection({ ...body, items }, page, scope, (p) => [p.name, p.sku]);
    },
    product: (_parent, { id }, ctx) => {
      const parsed = fromGlobalId(id);
      return parsed?.type === 'Product' ? ctx.loaders.products.load(parsed.key) : null;
    },
    productChanges: async (_parent, args, ctx) => {
      const page = await fetchChanges<ProductResource>(ctx, args, { service: 'catalog', path: '/products/changes', route: 'GET /products/changes', scope: syncScope('products') });
      const updated = page.updated.map((p): ProductModel => tagged(p, 'Product'));
      for (const p of updated) ctx.loaders.products.prime(p.sku, p);
      return { updated, deletedIds: page.deleted.map((sku) => toGlobalId('Product', sku)), syncToken: page.syncToken, hasMore: page.hasMore };
    },
  },
  Product: {
    id: (product) => toGlobalId('Product', product.sku),
    price: (product) => money(product.priceCents, product.currency),
    imageUrl: (product, { size }) => sizedImageUrl(product.imageUrl, size, 512),
    thumbnailUrl: (product) => sizedImageUrl(product.imageUrl, 128, 128),
  },
};
