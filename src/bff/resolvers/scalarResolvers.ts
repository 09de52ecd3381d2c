import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import type { Resolvers } from '../generated/resolvers.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): string {
  if (typeof value !== 'string' || !ISO.test(value) || Number.isNaN(Date.parse(value))) {
    throw new GraphQLError(`DateTime: expected an ISO 8601 instant such as "2026-01-31T12:00:00.000Z", got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return new Date(value).toISOString();
}

// Only the type is checked here: the field that takes a token decodes it, so that a bad one is
// INVALID_SYNC_TOKEN on that field alone rather than a failed request.
function parseSyncToken(value: unknown): string {
  if (typeof value !== 'string') {
    throw new GraphQLError(`SyncToken: expected the string a change set returned as syncToken, got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return value;
}

export const scalarResolvers: Resolvers = {
  DateTime: new GraphQLScalarType({
    name: 'DateTime',
    serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
    parseValue: parseDateTime,
    parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
  }),
  SyncToken: new GraphQLScalarType({
    name: 'SyncToken',
    serialize: (value) => String(value),
    parseValue: parseSyncToken,
    parseLiteral: (ast) => parseSyncToken(ast.kind === Kind.STRING ? ast.value : undefined),
  }),
};
