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

/** `GET /products?ids=`, `GET /products?limit=…` (catalog service). The key is the SKU. */
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

/** Every rejection: a machine code, a sentence, and the offending field where there is one. */
export interface ServiceErrorBody {
  code: string;
  message: string;
  field?: string;
}
