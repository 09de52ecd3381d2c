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

/** Yields `source`'s results until `at` (epoch ms), then one result carrying `error`, and ends; closes `source` when it ends. */
async function* until(source: AsyncIterable<ExecutionResult>, at: number, error: () => GraphQLError): AsyncGenerator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), Math.max(0, Math.min(at - Date.now(), MAX_TIMER_MS)));
  });
  try {
    for (;;) {
      const step = await Promise.race([iterator.next(), expired]);
      if (step === EXPIRED) {
        yield { errors: [error()] };
        return;
      }
      if (step.done) return;
      yield step.value;
    }
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
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
