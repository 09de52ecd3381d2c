import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** The real graphql-ws client against a BFF's /graphql, one socket kept across operations. */
export function wsClient(httpUrl: string, connectionParams?: Record<string, unknown>, on: { closed?: (e: { code: number; reason: string }) => void } = {}): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
    lazyCloseTimeout: 60_000,
    on: on.closed ? { closed: (e) => on.closed!(e as { code: number; reason: string }) } : {},
  });
}

/** A running subscription: its results so far, and ways to wait for more. */
export function collect(client: Client, payload: { query: string; variables?: Record<string, unknown> }) {
  const results: ExecutionResult<any>[] = [];
  let error: unknown;
  let done = false;
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  const unsubscribe = client.subscribe(payload, {
    next: (r) => (results.push(r as ExecutionResult<any>), poke()),
    error: (e) => ((error = e), (done = true), poke()),
    complete: () => ((done = true), poke()),
  });
  return {
    results,
    get error() {
      return error;
    },
    unsubscribe,
    /** Resolves once `predicate` holds (checked on every message), or rejects after `ms`. */
    until(predicate: () => boolean, ms = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate()) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          } else if (done) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`subscription ended: ${JSON.stringify(error ?? 'complete')}; results: ${JSON.stringify(results)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out; results so far: ${JSON.stringify(results)}; error: ${JSON.stringify(error)}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
  };
}
