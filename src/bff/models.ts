import type { OrderResource, ProductResource, UserResource } from '../contracts/index.js';

// What resolvers pass between each other: the downstream resources, tagged with their GraphQL type
// so that `Node` can resolve its concrete type without guessing (codegen `mappers`).

export type UserModel = UserResource & { __typename: 'User' };
export type ProductModel = ProductResource & { __typename: 'Product' };
export type OrderModel = OrderResource & { __typename: 'Order' };
export type OrderLineModel = OrderResource['lines'][number] & { currency: string };
export type NodeModel = UserModel | ProductModel | OrderModel;

/**
 * A resource fresh from a service's JSON, tagged as its model in place: `__typename` is set on the
 * parsed object itself. Not `{ ...resource, __typename }`: a spread of a parsed object enumerates
 * and copies it (~0.8 µs each; the orders screen tags ~85), and nothing else holds these objects
 * (each call's body is its own parse, or for shared subscription reads tagged alike by every reader).
 */
export function tagged<R extends object, T extends NodeModel['__typename']>(resource: R, typename: T): R & { __typename: T } {
  const model = resource as R & { __typename: T };
  model.__typename = typename;
  return model;
}
