import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import type { Context } from '../context.js';
import { maskError } from '../errors/clientError.js';

/**
 * Masks what resolvers throw unexpectedly (design.md §9: `INTERNAL_SERVER_ERROR`, the message
 * hidden) and logs each such error once, with the logger of the request it happened in
 * (`context.log`: its request id, and a socket operation's id): for single results, every event of
 * a subscription or deferred stream, and a failed subscription. It runs before yoga's own masking,
 * which then finds nothing left to mask in an execution's results (it still masks errors raised
 * outside one).
 *
 * The logger comes from the context, not from AsyncLocalStorage: once an AsyncLocalStorage is
 * used, its promise hook costs every promise the process makes.
 */
export function useMaskedErrorsWithRequestLog({ logger }: { logger: Logger }): Plugin {
  const maskerFor = (log: Logger) =>
    maskError((error) => {
      log.error({ err: error }, 'unexpected error in a resolver');
      log.debug(String(error));
    });
  const handlerFor = (context: Context) => {
    const mask = maskerFor(context.log ?? logger);
    return ({ result, setResult }: { result: ExecutionResult; setResult: (result: ExecutionResult) => void }) => {
      if (result.errors?.length) setResult({ ...result, errors: result.errors.map((error) => mask(error)) as unknown as ExecutionResult['errors'] });
    };
  };
  return {
    onExecute({ args }) {
      const handle = handlerFor(args.contextValue as unknown as Context);
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, handle) };
    },
    onSubscribe({ args }) {
      const context = args.contextValue as unknown as Context;
      const handle = handlerFor(context);
      return {
        onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, handle),
        onSubscribeError: ({ error, setError }) => setError(maskerFor(context.log ?? logger)(error)),
      };
    },
  };
}
