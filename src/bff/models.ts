import type { OrderResource, ProductResource, UserResource } from '../contracts/index.js';

// What resolvers pass between each other: the downstream resources, tagged with their GraphQL type
// so that `Node` can resolve its concrete type without guessing (codegen `mappers`).

export type UserModel = UserResource & { __typename: 'User' };
export type ProductModel = ProductResource & { __typename: 'Product' };
export type OrderModel = OrderResource & { __typename: 'Order' };
export type OrderLineModel = OrderResource['lines'][number] & { currency: string };
export type NodeModel = UserModel | ProductModel | OrderModel;
