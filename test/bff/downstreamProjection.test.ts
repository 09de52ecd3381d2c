import { rmSync } from 'node:fs';
import { buildSchema, isObjectType, parse } from 'graphql';
import { signDevToken } from '../../src/auth/index.js';
import { PRODUCT_RESOURCE_FIELDS } from '../../src/contracts/index.js';
import { PRODUCT_FIELD_SOURCES, productProjection } from '../../src/bff/loaders/productProjection.js';
import { createSchema } from '../../src/bff/createSchema.js';
import { operation, writeManifests } from '../support/apolloManifest.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// Issue 15: a persisted query by hash asks the catalog for the product fields it reads
// (`GET /products?ids=…&fields=…`), not whole products; the answer is the same bytes as with whole
// products (the text path, which fetches them whole).
const schema = createSchema();
const project = (text: string) => productProjection(schema, parse(text));

describe('productProjection', () => {
  it('reads what the selections on Product need, through fragments and the Node interface, in the resource order', () => {
    expect(project('{ viewer { orders(first: 2) { edges { node { lines { product { id name } } } } } } }')).toEqual(['name']);
    expect(project('{ product(id: "x") { price { amount } updatedAt ...Card } } fragment Card on Product { imageUrl(size: 10) }')).toEqual(['priceCents', 'currency', 'imageUrl', 'updatedAt']);
    expect(project('{ node(id: "x") { id ... on Product { description } } }')).toEqual(['description']);
    expect(project('{ node(id: "x") { ... on Order { lines { product { thumbnailUrl } } } } }')).toEqual(['imageUrl']);
    expect(project('{ product(id: "x") { __typename } }')).toEqual([]);
    // No product at all: nothing but the key, should one be loaded.
    expect(project('{ viewer { name } }')).toEqual([]);
  });

  it('fetches whole products for mutations and subscriptions (their resolvers read products for their own work)', () => {
    expect(project('mutation { placeOrder(input: { lines: [] }) { order { lines { product { name } } } } }')).toBeUndefined();
    expect(project('subscription { orderEvents { order { lines { product { name } } } } }')).toBeUndefined();
  });

  it('fetches whole products for a Product field it does not know (a new one)', () => {
    const newer = buildSchema('type Query { product: Product } type Product { sku: String! name: String! rating: Int }');
    expect(productProjection(newer, parse('{ product { name } }'))).toEqual(['name']);
    expect(productProjection(newer, parse('{ product { name rating } }'))).toBeUndefined();
  });

  it('knows every field of Product, each read from fields the resource has', () => {
    const product = schema.getType('Product');
    if (!isObjectType(product)) throw new Error('no Product type');
    expect(Object.keys(PRODUCT_FIELD_SOURCES).filter((f) => f !== '__typename').sort()).toEqual(Object.keys(product.getFields()).sort());
    for (const sources of Object.values(PRODUCT_FIELD_SOURCES)) for (const source of sources) expect(PRODUCT_RESOURCE_FIELDS).toContain(source);
  });
});

const ORDERS = operation('Orders', 'query', 'query Orders { viewer { orders(first: 5) { edges { node { number lines { quantity product { id name } } } } } } }');
const DETAIL = operation('Detail', 'query', 'query Detail($id: ID!) { product(id: $id) { id name price { amount currency } imageUrl(size: 64) } }');
const ALL = operation('All', 'query', 'query All($id: ID!) { product(id: $id) { id sku name description price { amount currency } imageUrl thumbnailUrl updatedAt } }');

let dir: string;
let system: SystemBehindProxies;
let demo: string;
beforeAll(async () => {
  dir = writeManifests({ 'shop-ios-7.1.0.json': [ORDERS, DETAIL, ALL] });
  system = await startSystemBehindProxies({ PERSISTED_QUERIES_DIR: dir, PERSISTED_OPERATIONS: 'allowlist', RESPONSE_CACHE: 'off' });
  demo = `Bearer ${await signDevToken({ sub: 'demo' })}`;
});
afterAll(async () => {
  await system?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(body: unknown) {
  const response = await fetch(system.bff.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: demo }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}
const byHash = (op: { id: string; name: string }, variables: Record<string, unknown> = {}) => ({ operationName: op.name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: op.id } } });
const asText = (op: { body: string; name: string }, variables: Record<string, unknown> = {}) => ({ query: op.body, operationName: op.name, variables });
const productId = (sku: string) => Buffer.from(`1:Product:${sku}`).toString('base64url');

/** The catalog paths of the batch reads `fn` made. */
async function productReads(fn: () => Promise<unknown>) {
  const before = system.proxies.catalog.received.length;
  await fn();
  return system.proxies.catalog.received.slice(before).map((r) => r.path).filter((path) => path.startsWith('/products?ids='));
}

describe('the by-hash lane fetches only the product fields a persisted query reads', () => {
  it.each([
    ['the orders screen', ORDERS, {}, 'name'],
    ['a product card', DETAIL, { id: productId('SKU-0001') }, 'name,priceCents,currency,imageUrl'],
    ['every field', ALL, { id: productId('SKU-0001') }, 'name,description,priceCents,currency,imageUrl,updatedAt'],
  ])('%s: asks for its fields, and answers the bytes of whole products', async (_label, op, variables, fields) => {
    let hashed!: { status: number; text: string };
    const lane = await productReads(async () => {
      hashed = await post(byHash(op, variables));
    });
    let text!: { status: number; text: string };
    const whole = await productReads(async () => {
      text = await post(asText(op, variables));
    });
    expect(hashed.status).toBe(200);
    expect(JSON.parse(hashed.text).errors).toBeUndefined();
    expect(lane).toHaveLength(1);
    expect(lane[0]).toMatch(new RegExp(`^/products\\?ids=[^&]+&fields=${fields}$`));
    expect(whole).toHaveLength(1);
    expect(whole[0]).not.toContain('fields=');
    expect(hashed.text).toBe(text.text);
  });
});

describe('GET /products?ids=…&fields=… (catalog service)', () => {
  const catalog = () => system.proxies.catalog.url;
  it('answers each product with its sku and the fields named', async () => {
    const body = (await (await fetch(`${catalog()}/products?ids=SKU-0001,SKU-0002&fields=name,priceCents`)).json()) as { items: Record<string, unknown>[] };
    expect(body.items).toHaveLength(2);
    for (const item of body.items) expect(Object.keys(item).sort()).toEqual(['name', 'priceCents', 'sku']);
    const none = (await (await fetch(`${catalog()}/products?ids=SKU-0001&fields=`)).json()) as { items: Record<string, unknown>[] };
    expect(none.items).toEqual([{ sku: 'SKU-0001' }]);
  });

  it('refuses a repeated fields or ids parameter with INVALID_INPUT, not a failure', async () => {
    for (const query of ['ids=SKU-0001&fields=name&fields=priceCents', 'ids=SKU-0001&ids=SKU-0002']) {
      const response = await fetch(`${catalog()}/products?${query}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'INVALID_INPUT' });
    }
  });

  it('refuses a field the resource does not have, with INVALID_INPUT', async () => {
    const response = await fetch(`${catalog()}/products?ids=SKU-0001&fields=name,password`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'INVALID_INPUT', field: 'fields' });
  });
});
