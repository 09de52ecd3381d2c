import { defaultFieldResolver, getNullableType, isInputObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Context } from '../context.js';
import { clientError, ErrorCode } from '../errors/index.js';
import { requireViewer } from '../resolvers/shared.js';
import { countMutationFields } from './countMutationFields.js';
import { fingerprint } from './fingerprint.js';
import { readIdempotencyKey } from './readIdempotencyKey.js';

/** What a client told "in use" waits before retrying: the running attempt usually ends within it. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Makes every Mutation field marked `@idempotent` in the SDL idempotent (design.md §6), by
 * wrapping its resolver in place (the schema is the caller's own, fresh from
 * `makeExecutableSchema`). Such a field needs an `input` argument with an `idempotencyKey`;
 * without one, this throws at start. `directiveName` @default 'idempotent'
 */
export function applyIdempotentDirective(schema: GraphQLSchema, directiveName = 'idempotent'): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    if (!field.astNode?.directives?.some((d) => d.name.value === directiveName)) continue;
    const input = field.args.find((a) => a.name === 'input');
    const inputType = input && getNullableType(input.type);
    if (!isInputObjectType(inputType) || !inputType.getFields().idempotencyKey) {
      throw new Error(`Mutation.${field.name} is @${directiveName}: it needs an argument \`input\` of an input type with a field \`idempotencyKey: String\`.`);
    }
    field.resolve = idempotent((field.resolve ?? defaultFieldResolver) as GraphQLFieldResolver<unknown, Context>);
  }
  return schema;
}

/**
 * Per attempt: authenticate, read the key, claim it, then either answer the stored outcome
 * (no side effect), refuse (other arguments, or still running), or run the resolver and store
 * what it returned. A thrown error is not an outcome: it releases the key, so a retry runs again
 * and, carrying the same downstream key, cannot write twice.
 */
function idempotent(resolve: GraphQLFieldResolver<unknown, Context>): GraphQLFieldResolver<unknown, Context> {
  return async (source, args, ctx, info) => {
    const viewer = requireViewer(ctx);
    const state = ctx.idempotency;
    const field = info.fieldName;
    const { idempotencyKey, ...input } = (args.input ?? {}) as Record<string, unknown>;
    let key: string;
    try {
      key = readIdempotencyKey({ field, inputKey: idempotencyKey as string | null | undefined, headerKey: state.headerKey, mutationFields: countMutationFields(info) });
    } catch (error) {
      state.refuse(400);
      throw error;
    }

    const claim = await state.store.claim({ userId: viewer.sub, field, key }, fingerprint({ ...args, input }));
    const responseKey = String(info.path.key);
    switch (claim.kind) {
      case 'finished':
        state.replayed.push(responseKey);
        return claim.result;
      case 'reused':
        state.refuse(422);
        throw clientError(ErrorCode.IdempotencyKeyReused, `${field}: this idempotency key was already used with other arguments. A new action needs a new key.`);
      case 'inUse':
        state.refuse(409, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
        throw clientError(ErrorCode.IdempotencyKeyInUse, `${field}: a request with this idempotency key is still running; retry in ${RETRY_AFTER_SECONDS} s.`, { retryAfter: RETRY_AFTER_SECONDS });
    }

    state.requestIds.set(responseKey, claim.requestId);
    let result: unknown;
    try {
      // Through JSON, as a replay will see it: the first answer and every replay are built from the same data.
      const value = await resolve(source, args, ctx, info);
      result = value === undefined ? null : JSON.parse(JSON.stringify(value));
    } catch (error) {
      // If the release fails too, the lock times out and a retry takes over: slower, just as safe.
      await state.store.release(claim).catch(() => {});
      throw error;
    }
    await state.store.complete(claim, result);
    return result;
  };
}
