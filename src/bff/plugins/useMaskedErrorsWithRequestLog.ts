import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { Logger } from 'pino';
import type { Context } from '../context.js';
import { maskAndLog } from '../errors/clientError.js';

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
  const handlerFor = (mask: (error: unknown) => Error) => {
    return ({ result, setResult }: { result: ExecutionResult; setResult: (result: ExecutionResult) => void }) => {
      if (result.errors?.length) setResult({ ...result, errors: result.errors.map((error) => mask(error)) as unknown as ExecutionResult['errors'] });
    };
  };
  return {
    onExecute({ args }) {
      const handle = handlerFor(maskAndLog((args.contextValue as unknown as Context).log ?? logger));
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, handle) };
    },
    onSubscribe({ args }) {
      const mask = maskAndLog((args.contextValue as unknown as Context).log ?? logger);
      const handle = handlerFor(mask);
      return {
        onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, handle),
        onSubscribeError: ({ error, setError }) => setError(mask(error)),
      };
    },
  };
}
