import { isAbstractType, isObjectType, Kind, type DocumentNode, type GraphQLSchema } from 'graphql';
import { PRODUCT_RESOURCE_FIELDS, type ProductResource } from '../../contracts/index.js';
import { coordinatesOf } from '../persisted/schemaUsage.js';

/**
 * What each field of the GraphQL `Product` reads of the catalog's `ProductResource`
 * (src/bff/resolvers/catalogResolvers.ts resolves them; a field without a resolver reads its own
 * name). A field missing here (a new one) makes every operation that selects it fetch whole
 * products: the safe default. test/bff/downstreamProjection.test.ts checks the table against the
 * schema and the answers against whole products.
 */
export const PRODUCT_FIELD_SOURCES: Readonly<Record<string, readonly (keyof ProductResource)[]>> = {
  __typename: [],
  id: ['sku'],
  sku: ['sku'],
  name: ['name'],
  description: ['description'],
  price: ['priceCents', 'currency'],
  imageUrl: ['imageUrl'],
  thumbnailUrl: ['imageUrl'],
  updatedAt: ['updatedAt'],
};

/**
 * The fields of `ProductResource` (besides `sku`, always sent) that a query reads of the products
 * it loads by SKU, for `GET /products?ids=…&fields=…`: the union over every selection on `Product`
 * (directly, through a fragment, or on an interface or union `Product` belongs to, such as `Node`),
 * in a fixed order. Where that cannot be told (a mutation or subscription, whose resolvers may
 * read products for their own work; a field this module does not know), `undefined`: whole
 * products. For a validated document (its fields are read as schema coordinates, the schema
 * usage report's `coordinatesOf`). Computed once per persisted operation (loadPersistedOperations)
 * and learned text (createLearnedTexts): the orders screen then parses 62 products of `sku` and
 * `name` (~2 KB) instead of ~18 KB of them.
 */
export function productProjection(schema: GraphQLSchema, document: DocumentNode): readonly (keyof ProductResource)[] | undefined {
  const product = schema.getType('Product');
  if (!isObjectType(product)) return undefined;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION && definition.operation !== 'query') return undefined;
  }
  const needed = new Set<keyof ProductResource>();
  // The document's fields as schema coordinates (`Type.field`; arguments have a `(`).
  for (const coordinate of coordinatesOf(schema, document)) {
    const dot = coordinate.indexOf('.');
    const field = coordinate.slice(dot + 1);
    if (field.includes('(')) continue;
    const parent = schema.getType(coordinate.slice(0, dot));
    if (parent !== product && !(parent && isAbstractType(parent) && schema.isSubType(parent, product))) continue;
    const sources = Object.hasOwn(PRODUCT_FIELD_SOURCES, field) ? PRODUCT_FIELD_SOURCES[field] : undefined;
    if (!sources) return undefined;
    for (const source of sources) needed.add(source);
  }
  // In the resource's own order: one selection, one URL.
  return PRODUCT_RESOURCE_FIELDS.filter((field) => field !== 'sku' && needed.has(field));
}
