import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.js';

/**
 * The key the downstream write of the running `@idempotent` field must carry. It names the
 * logical request, so it is the same for every attempt, including one made after a crash between
 * the downstream write and the storing of its outcome: the service answers the first outcome.
 */
export function downstreamIdempotencyKey(ctx: Context, info: GraphQLResolveInfo): string {
  const key = ctx.idempotency.requestIds.get(String(info.path.key));
  if (!key) throw new Error(`downstreamIdempotencyKey: ${info.parentType.name}.${info.fieldName} runs without an idempotency key; mark it @idempotent in the SDL.`);
  return key;
}
