import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildSchema, getNamedType, isInterfaceType, isNonNullType, isObjectType, Kind, parse, type GraphQLField } from 'graphql';
import { createSchema } from '../../src/bff/createSchema.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { startTestSystem } from '../support/startTestSystem.js';

// design.md §11: a schema artifact that Apollo Kotlin generates non-null types and cache keys from,
// with no client-side extra file.
const require = createRequire(import.meta.url);
const { printClientSchema } = require('../../src/bff/clientSchema/exportClientSchema.cjs') as { printClientSchema: (root?: string) => string };
const committed = readFileSync(join(projectRoot(), 'schema/client/schema.graphqls'), 'utf8');

/**
 * What Apollo Kotlin (4.4 and 5) adds for the two links, from its sources (apollo-ast `definitions.kt`:
 * `linkDefinitionsStr`, `nullabilityDefinitionsStr`, `kotlinLabsDefinitions_0_4`): the schema must
 * not define these itself.
 */
const APOLLO_LINKED_DEFINITIONS = `
scalar Import
enum Purpose { EXECUTION SECURITY }
directive @link(url: String!, as: String, import: [Import], for: Purpose) repeatable on SCHEMA
directive @semanticNonNull(levels: [Int] = [0]) on FIELD_DEFINITION
directive @typePolicy(keyFields: String! = "", embeddedFields: String! = "", connectionFields: String! = "") on OBJECT | INTERFACE
`;

/** The fields null only with an error: each fed by its own downstream service (design.md §2), and viewer without a valid token. */
const SEMANTIC_NON_NULL = ['Query.products', 'Query.productChanges', 'Query.viewer', 'User.orders', 'User.orderChanges', 'User.devices', 'Order.customer'];

/** These tests start a whole system (embedded PostgreSQL, services, BFF): on a busy machine that takes minutes, as in a hook (test/support/hookTimeouts.ts). */
const STARTS_A_SYSTEM_MS = 240_000;

describe('the client schema (npm run schema:export)', () => {
  it('is committed up to date with schema/*.graphql', () => {
    expect(committed).toBe(printClientSchema(projectRoot()));
  });

  it('links Apollo’s nullability v0.4 and kotlin_labs v0.5 and does not define their directives again (Apollo Kotlin refuses a redefinition)', () => {
    const document = parse(committed);
    const extension = document.definitions.find((d) => d.kind === Kind.SCHEMA_EXTENSION)!;
    const links = (extension as any).directives.map((d: any) => Object.fromEntries(d.arguments.map((a: any) => [a.name.value, a.value.kind === Kind.LIST ? a.value.values.map((v: any) => v.value) : a.value.value])));
    expect(links).toEqual([
      { url: 'https://specs.apollo.dev/nullability/v0.4', import: ['@semanticNonNull'] },
      { url: 'https://specs.apollo.dev/kotlin_labs/v0.5', import: ['@typePolicy'] },
    ]);
    const defined = document.definitions.filter((d) => d.kind === Kind.DIRECTIVE_DEFINITION).map((d: any) => d.name.value);
    expect(defined).toEqual(['defer']);
  });

  it('builds with graphql-js once the linked definitions Apollo Kotlin supplies are added', () => {
    expect(() => buildSchema(committed + APOLLO_LINKED_DEFINITIONS)).not.toThrow();
  });

  it('marks @semanticNonNull exactly the nullable fields fed by their own service, and nothing non-null', () => {
    const schema = buildSchema(committed + APOLLO_LINKED_DEFINITIONS);
    const marked: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) && !isInterfaceType(type)) continue;
      for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
        if (!field.astNode?.directives?.some((d) => d.name.value === 'semanticNonNull')) continue;
        expect(isNonNullType(field.type)).toBe(false);
        marked.push(`${type.name}.${field.name}`);
      }
    }
    expect(marked.sort()).toEqual([...SEMANTIC_NON_NULL].sort());
  });

  it('gives the Node interface @typePolicy(keyFields: "id"), inherited by every Node type, which declares none of its own', () => {
    const schema = buildSchema(committed + APOLLO_LINKED_DEFINITIONS);
    const node = schema.getType('Node')!;
    expect(node.astNode!.directives!.map((d) => [d.name.value, (d.arguments![0]!.value as any).value])).toEqual([['typePolicy', 'id']]);
    const implementations = schema.getPossibleTypes(node as any);
    expect(implementations.map((t) => t.name).sort()).toEqual(['Order', 'Product', 'User']);
    for (const type of implementations) expect(type.astNode!.directives ?? []).toEqual([]);
  });

  it('is the server’s schema for clients: same types and fields, without the server-only directives', () => {
    const client = buildSchema(committed + APOLLO_LINKED_DEFINITIONS);
    const server = createSchema();
    for (const type of Object.values(server.getTypeMap())) {
      if (type.name.startsWith('__') || type.name === 'CacheControlScope') continue;
      const mirrored = client.getType(type.name);
      expect(mirrored?.toString()).toBe(type.name);
      if (isObjectType(type)) expect(Object.keys((mirrored as typeof type).getFields())).toEqual(Object.keys(type.getFields()));
    }
    const used = new Set<string>();
    JSON.stringify(parse(committed), (key, value) => (value?.kind === Kind.DIRECTIVE && used.add(value.name.value), value));
    expect([...used].sort()).toEqual(['deprecated', 'link', 'semanticNonNull', 'typePolicy']);
    expect(client.getType('CacheControlScope')).toBeUndefined();
    expect(getNamedType(client.getQueryType()!.getFields().viewer!.type).name).toBe('User');
  });

  it('is served at /schema.graphqls in development', async () => {
    const development = await startTestSystem({ NODE_ENV: 'development' });
    try {
      const response = await fetch(development.url.replace('/graphql', '/schema.graphqls'));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(committed);
    } finally {
      await development.stop();
    }
  }, STARTS_A_SYSTEM_MS);

  it('is not served in production', async () => {
    const production = await startTestSystem({}, { nodeEnv: 'production' });
    try {
      const response = await fetch(production.url.replace('/graphql', '/schema.graphqls'));
      expect(response.status).toBe(404);
    } finally {
      await production.stop();
    }
  }, STARTS_A_SYSTEM_MS);
});
