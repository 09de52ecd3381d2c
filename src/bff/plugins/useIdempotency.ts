import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';

/**
 * The response side of `@idempotent` fields (design.md §6). A response holding a field answered
 * again from the store carries `extensions.idempotentReplay: true` and, for documents with several
 * mutation fields, `extensions.idempotentReplayFields` (their response keys); Apollo Kotlin reads
 * them as `response.extensions["idempotentReplay"]`, Apollo iOS as `result.extensions`. A response
 * left without data by a refused key answers that refusal's HTTP status (400, 422, or 409 with
 * `Retry-After`); with data it stays 200, so a refusal never turns a partial success into an error.
 */
export function useIdempotency(): Plugin {
  return {
    onExecute({ args }) {
      const state = (args.contextValue as unknown as Context).idempotency;
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const replayed = state.replayed.length > 0;
          const refused = result.data == null && state.refusal !== undefined;
          if (!replayed && !refused) return;
          setResult({
            ...result,
            extensions: {
              ...result.extensions,
              ...(replayed ? { idempotentReplay: true, idempotentReplayFields: [...state.replayed] } : {}),
              ...(refused ? { http: state.refusal } : {}),
            },
          });
        },
      };
    },
  };
}
