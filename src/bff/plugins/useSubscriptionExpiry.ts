import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { ErrorCode } from '../errors/index.js';

/**
 * Set in the server context by a transport that ends its subscriptions at the token's `exp`
 * itself (graphql-ws closes the whole socket with 4403, which its clients answer by refreshing
 * the token and subscribing again).
 */
export interface EndsSubscriptionsAtTokenExpiry {
  endsSubscriptionsAtTokenExpiry?: boolean;
}

const EXPIRED = Symbol('expired');
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `source`'s results until `at` (epoch ms), then one result carrying `error`, then the end; the
 * source is closed when it ends. A plain iterator, not an async generator: a generator's
 * `return()` (the client went away) would wait for the pending `next()` — the next event, or
 * `exp`, maybe an hour — while this one closes the source at once.
 */
function until(source: AsyncIterable<ExecutionResult>, at: number, error: () => GraphQLError): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS)));
  });
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    await iterator.return?.();
  };
  const done = { done: true, value: undefined } as const;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return done;
      const step = await Promise.race([iterator.next(), expired]);
      if (step === EXPIRED) {
        await finish();
        return { done: false, value: { errors: [error()] } };
      }
      if (step.done) {
        finished = true;
        clearTimeout(timer);
      }
      return step;
    },
    async return() {
      await finish();
      return done;
    },
    async throw(reason?: unknown) {
      await finish();
      throw reason;
    },
  };
}

/**
 * Every subscription ends with its token: at the viewer's `exp`, a subscription over SSE (or any
 * HTTP stream) gets one last result, an `UNAUTHENTICATED` error ("the token has expired"), and
 * ends — as a WebSocket is closed at `exp` — so that a revoked user cannot listen on forever.
 * The client refreshes its token and subscribes again with its last sync token.
 */
export function useSubscriptionExpiry(): Plugin {
  return {
    onSubscribe({ args }) {
      const context = args.contextValue as unknown as Partial<Context> & EndsSubscriptionsAtTokenExpiry;
      const exp = context.viewer?.exp;
      if (!exp || context.endsSubscriptionsAtTokenExpiry) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) return;
          setResult(
            until(result, exp * 1000, () =>
              new GraphQLError('The token has expired: refresh it and subscribe again from the last sync token.', { extensions: { code: ErrorCode.Unauthenticated } }),
            ),
          );
        },
      };
    },
  };
}
