import { Redis } from 'ioredis';
import type { Bus } from './Bus.js';
import { createHandlers, parseMessage } from './dispatch.js';

export interface RedisBusOptions {
  url: string;
  /** Channel prefix, so that several deployments can share one Redis. @default 'mobile-bff' */
  prefix?: string;
  /** Called with publish failures and connection errors (the bus itself never throws at the caller). */
  onError?: (error: Error) => void;
}

/**
 * Redis pub/sub: a message published by any instance reaches the subscribers of every instance.
 * Publishing never blocks or fails a write: while Redis is down the notice is dropped, and when
 * the subscriber connection is back, `onMissedMessages` handlers run so readers catch up from
 * the change feeds. Resolves once both connections are ready; rejects, naming REDIS_URL, if not.
 */
export async function createRedisBus({ url, prefix = 'mobile-bff', onError = () => {} }: RedisBusOptions): Promise<Bus> {
  const handlers = createHandlers();
  const channel = (topic: string) => `${prefix}:${topic}`;
  const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 2_000);
  // The publisher fails fast while disconnected (no offline queue): a notice is a hint, the data is in the database.
  const publisher = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy });
  const subscriber = new Redis(url, { lazyConnect: true, retryStrategy });
  for (const client of [publisher, subscriber]) client.on('error', (error: Error) => onError(error));

  let lost = false;
  subscriber.on('close', () => void (lost = true));
  subscriber.on('ready', () => {
    // ioredis resubscribes by itself; what was published meanwhile is gone.
    if (lost) handlers.missed();
    lost = false;
  });
  subscriber.on('message', (ch: string, raw: string) => {
    const message = parseMessage(raw);
    if (message && ch === channel(message.topic)) handlers.deliver(message);
  });

  try {
    await Promise.all([publisher.connect(), subscriber.connect()]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw new Error(`REDIS_URL: cannot connect to ${url.replace(/\/\/[^@]*@/, '//***@')}: ${(error as Error).message}`);
  }
  lost = false;

  return {
    async publish(message) {
      try {
        await publisher.publish(channel(message.topic), JSON.stringify(message));
      } catch (error) {
        onError(error as Error);
      }
    },
    subscribe(topic, handler) {
      const { first, remove } = handlers.add(topic, handler as never);
      if (first) void subscriber.subscribe(channel(topic)).catch((error: Error) => onError(error));
      return () => {
        if (remove()) void subscriber.unsubscribe(channel(topic)).catch(() => {});
      };
    },
    onMissedMessages: (handler) => handlers.onMissed(handler),
    // Disconnect, not QUIT: QUIT waits for a server that may be gone, and there is nothing to flush.
    async close() {
      handlers.clear();
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
