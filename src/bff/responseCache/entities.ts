import type { BusMessage } from '../../bus/index.js';

/**
 * What a cached result holds, as the change notices and feeds name it: one object by its
 * service key (`Product:<sku>`, `Order:<number>`, `User:<id>`), or a list whose membership or
 * order any change of its kind may alter (`Products` — every list of the catalogue, ordered by
 * name; `Orders:<userId>` — a user's order lists).
 */
export type Entity = string;

export const productEntity = (sku: string): Entity => `Product:${sku}`;
/** Every list of products (a rename moves a product in a list ordered by name; a new one joins it). */
export const PRODUCT_LISTS: Entity = 'Products';
export const orderEntity = (number: string): Entity => `Order:${number}`;
/** The lists of one user's orders. */
export const ordersOfUser = (userId: string): Entity => `Orders:${userId}`;
export const userEntity = (id: string): Entity => `User:${id}`;

/** The change feeds that back the notices up (the users service has none: its entries rest on notices and their max age). */
export type FeedName = 'products' | 'orders';

/** The feed whose changes cover an entity, if any. */
export function feedOf(entity: Entity): FeedName | undefined {
  if (entity === PRODUCT_LISTS || entity.startsWith('Product:')) return 'products';
  if (entity.startsWith('Order:') || entity.startsWith('Orders:')) return 'orders';
  return undefined;
}

/** The entities a change notice says changed. */
export function entitiesOfNotice(message: BusMessage): Entity[] {
  switch (message.topic) {
    case 'products':
      return [productEntity(message.sku), PRODUCT_LISTS];
    case 'orders':
      return [orderEntity(message.number), ordersOfUser(message.userId)];
    case 'users':
      return [userEntity(message.userId)];
  }
}

/** What one downstream call read. */
export interface CallDependencies {
  entities: Entity[];
  /** Every change of what it read is announced on the bus (and, but for users, in a change feed). */
  announced: boolean;
  /** It read a user's own data (profile, orders, devices). */
  personal: boolean;
  /** It changed something: the request is not a read. */
  write: boolean;
}

const idsOf = (url: URL) => (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
const itemsOf = <T>(body: unknown): T[] => (body && typeof body === 'object' && Array.isArray((body as { items?: unknown }).items) ? (body as { items: T[] }).items : []);

/**
 * The entities a downstream call read, from the call and its answer: a batch read holds every key
 * asked for (a missing product that is created later is a change to it), a list holds its list
 * entity and every item on the page. Exact by construction: whatever a resolver or loader read
 * passes through here, whichever fields the operation then selected.
 */
export function dependenciesOfCall(service: string, method: string, path: string, body: unknown): CallDependencies {
  const url = new URL(path, 'http://service');
  const route = url.pathname;
  const read = method === 'GET';
  const none = { entities: [], announced: false, personal: true, write: !read };
  switch (service) {
    case 'catalog':
      if (!read) return none;
      if (route === '/products' && url.searchParams.has('ids')) return { entities: idsOf(url).map(productEntity), announced: true, personal: false, write: false };
      if (route === '/products' || route === '/products/changes') {
        return { entities: [PRODUCT_LISTS, ...itemsOf<{ sku: string }>(body).map((p) => productEntity(p.sku))], announced: true, personal: false, write: false };
      }
      return { ...none, personal: false };
    case 'orders': {
      if (!read) return none;
      const userId = url.searchParams.get('userId');
      if (route === '/orders' && url.searchParams.has('ids')) return { entities: idsOf(url).map(orderEntity), announced: true, personal: true, write: false };
      if ((route === '/orders' || route === '/orders/changes') && userId) {
        const updated = route === '/orders' ? itemsOf<{ number: string }>(body) : ((body as { updated?: { number: string }[] } | undefined)?.updated ?? []);
        return { entities: [ordersOfUser(userId), ...updated.map((o) => orderEntity(o.number))], announced: true, personal: true, write: false };
      }
      return none;
    }
    case 'users':
      if (read && route === '/users') return { entities: idsOf(url).map(userEntity), announced: true, personal: true, write: false };
      // The viewer's profile, created on first sight: a read as far as the request is concerned.
      if (method === 'POST' && route === '/users/ensure') {
        const id = (body as { user?: { id?: string } } | undefined)?.user?.id;
        return id ? { entities: [userEntity(id)], announced: true, personal: true, write: false } : none;
      }
      return none;
    default:
      // A service without change notices (notifications' devices): only its max age bounds it.
      return none;
  }
}
