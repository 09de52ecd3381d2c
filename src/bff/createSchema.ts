import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { projectRoot } from '../util/projectRoot.js';
import { applyIdempotentDirective } from './idempotency/index.js';
import { catalogResolvers } from './resolvers/catalogResolvers.js';
import { nodeResolvers } from './resolvers/nodeResolvers.js';
import { ordersResolvers } from './resolvers/ordersResolvers.js';
import { scalarResolvers } from './resolvers/scalarResolvers.js';
import { notificationsResolvers } from './resolvers/notificationsResolvers.js';
import { usersResolvers } from './resolvers/usersResolvers.js';

/** The SDL files, in name order: `schema/*.graphql`. */
export function readTypeDefs(dir = join(projectRoot(), 'schema')): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

/** The executable schema: the SDL of `schema/` with the resolvers of each domain; `@idempotent` fields need keys. */
export function createSchema(): GraphQLSchema {
  const schema = makeExecutableSchema({
    typeDefs: readTypeDefs(),
    resolvers: [scalarResolvers, nodeResolvers, usersResolvers, catalogResolvers, ordersResolvers, notificationsResolvers],
    inheritResolversFromInterfaces: true,
  });
  return applyIdempotentDirective(schema);
}
