// The REST/JSON contract between the BFF and the downstream services: what each resource looks like on the wire.
// The reference services implement it; a deployment's own services must answer the same shapes.

/** `GET /users?ids=`, `POST /users/ensure`, `PATCH /users/:id` (users service). */
export interface UserResource {
  id: string;
  name: string;
  email: string | null;
  avatarUrl: string | null;
  version: number;
  updatedAt: string;
}

/**
 * `GET /products?ids=`, `GET /products?limit=…` (catalog service). The key is the SKU.
 * `GET /products?ids=a,b&fields=name,priceCents` answers each item with `sku` and the fields named
 * (any of `PRODUCT_RESOURCE_FIELDS`; another name is refused with 400 `INVALID_INPUT`): the
 * BFF asks for what a persisted query reads (src/bff/loaders/productProjection.ts). A
 * deployment's own catalog must accept the parameter; answering whole products anyway is fine
 * (the BFF reads only what it asked for), refusing it fails those reads (or set BY_HASH_LANE=off).
 */
export interface ProductResource {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  imageUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The fields of `ProductResource`, which `fields=` may name. */
export const PRODUCT_RESOURCE_FIELDS = ['sku', 'name', 'description', 'priceCents', 'currency', 'imageUrl', 'createdAt', 'updatedAt'] as const satisfies readonly (keyof ProductResource)[];

export type OrderStatus = 'PENDING' | 'CONFIRMED' | 'SHIPPED' | 'DELIVERED' | 'CANCELLED';

/**
 * `GET /orders?ids=`, `GET /orders?userId=…`, `POST /orders` (orders service). The key is the `number`.
 * `POST /orders` and `POST /orders/:number/cancel` take an `idempotencyKey`: a retry with the same
 * user and key answers the first outcome (place: 200 with the order placed first) instead of
 * writing again. The BFF's one-order-per-key guarantee across crashes rests on it.
 */
export interface OrderResource {
  number: string;
  userId: string;
  status: OrderStatus;
  currency: string;
  totalCents: number;
  createdAt: string;
  updatedAt: string;
  lines: { sku: string; quantity: number; unitPriceCents: number }[];
}

/** Batch reads answer the items found, in any order; unknown ids are absent. */
export interface BatchResponse<T> {
  items: T[];
}

/**
 * Keyset lists (`?limit=&after=&before=&direction=`) answer one page, always in list order, and
 * whether rows exist after its end (`hasNext`) and before its start (`hasPrevious`), exactly.
 * `after`/`before` are JSON arrays of the sort values of a position, primary key last.
 */
export interface ListResponse<T> {
  items: T[];
  hasNext: boolean;
  hasPrevious: boolean;
}

/**
 * One page of a change feed: `GET /products/changes?since=&limit=[&head=1]` (catalog),
 * `GET /orders/changes?userId=&since=&limit=` (orders, one user's orders). `since` is a `next`
 * from an earlier page, an opaque position; without it, the page starts a full sync (every live
 * row, no deletions). `limit`: 1 to 1000, default 500. A `since` that is not a position: 400
 * `INVALID_INPUT` (field `since`); one behind the purged tombstones: 410 `SINCE_EXPIRED`, and the
 * client must start again without `since`. `head=1` reads no rows: `next` is where the feed stands
 * now (where a reader that only wants changes from now on starts). Changes are commit-safe: a transaction that commits
 * late is never skipped (design.md §5).
 */
export interface ChangesResponse<T> {
  /** Created or changed since `since`, in change order. Apply before `deleted`. */
  updated: T[];
  /** Keys deleted since `since` (never also in `updated`). */
  deleted: string[];
  /** Where the next page starts; never behind `since`. */
  next: string;
  /** More changes are waiting after `next`: ask again now. */
  hasMore: boolean;
  /**
   * Present when changes committed after `next` are held back until an older transaction of the
   * database finishes (PostgreSQL: see `readChanges`): ask again shortly; no notice will say when.
   */
  held?: true;
  /**
   * With `?positions=1`: the feed position of each entry of `updated`, in the same order, so a
   * reader that hands changes on one at a time (a subscription) can resume right after any of them.
   */
  updatedPositions?: string[];
}

/**
 * `GET /orders/feed`: every user's order changes in one ordered feed (the push consumer's input),
 * positions included, and each deletion with its owner (an order deleted or moved away is a change
 * of its former owner's orders too).
 */
export interface OrdersFeedResponse extends ChangesResponse<OrderResource> {
  updatedPositions: string[];
  /** The deletions of `deleted`, in order: the order's number, whose it was, when, and where in the feed. */
  deletions: { number: string; userId: string; deletedAt: string; position: string }[];
  /**
   * Every status change in the page's window, in feed order — also those of an order changed
   * several times before this read, whose `updated` entry shows only the latest state. Absent on a
   * read without `since`.
   */
  statusChanges: { number: string; userId: string; status: string; changedAt: string; position: string }[];
}

/** Every rejection: a machine code, a sentence, and the offending field where there is one. */
export interface ServiceErrorBody {
  code: string;
  message: string;
  field?: string;
}

export type DevicePlatform = 'IOS' | 'ANDROID';

/**
 * A device registered for push (notifications service), as its owner may see it: never its token.
 * `GET /devices?userId=` (list, newest first), `POST /devices/register`
 * `{ userId, installationId, platform, token, appVersion?, locale?, notifyOrderUpdates? }` (201
 * created, 200 updated: naturally idempotent per (user, installation); a new token replaces the
 * old one; a token held by another device moves to this one), `POST /devices/unregister`
 * `{ userId, installationId }` (`{ installationId, deleted }`).
 */
export interface DeviceResource {
  installationId: string;
  platform: DevicePlatform;
  appVersion: string | null;
  locale: string | null;
  notifyOrderUpdates: boolean;
  updatedAt: string;
}

/**
 * What the device registry accepts. APNs device tokens are 64 hex characters and FCM
 * registration tokens a few hundred; 4096 leaves room for a future format while keeping one
 * client from storing megabytes.
 */
export const deviceLimits = {
  installationId: 255,
  token: 4096,
  appVersion: 64,
  /** A BCP 47 tag, e.g. `pt-BR`, `zh-Hant-TW`. */
  locale: 35,
} as const;
