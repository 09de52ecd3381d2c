import pg from 'pg';
import type { Bus } from './Bus.js';
import { createHandlers, parseMessage } from './dispatch.js';

export interface PostgresBusOptions {
  url: string;
  /** The NOTIFY channel. @default 'mobile_bff_bus' */
  channel?: string;
  onError?: (error: Error) => void;
}

/**
 * PostgreSQL LISTEN/NOTIFY, for separate processes without Redis (services and BFF sharing
 * `DATABASE_URL`). One dedicated connection listens; when it drops, it reconnects with backoff
 * and then runs the `onMissedMessages` handlers, since notices sent meanwhile are gone.
 */
export async function createPostgresBus({ url, channel = 'mobile_bff_bus', onError = () => {} }: PostgresBusOptions): Promise<Bus> {
  const handlers = createHandlers();
  const notifier = new pg.Pool({ connectionString: url, max: 2 });
  notifier.on('error', onError);
  let listener: pg.Client | undefined;
  let closed = false;

  async function listen(attempt = 0): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', (n) => {
      const message = n.channel === channel && n.payload ? parseMessage(n.payload) : undefined;
      if (message) handlers.deliver(message);
    });
    client.on('error', onError);
    client.on('end', () => {
      if (closed) return;
      setTimeout(() => void listen(1).catch(onError), 200).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      await client.end().catch(() => {});
      if (attempt === 0) throw new Error(`DATABASE_URL: cannot LISTEN for change notices: ${(error as Error).message}`);
      return;
    }
    listener = client;
    if (attempt > 0) handlers.missed();
  }
  await listen();

  return {
    async publish(message) {
      try {
        await notifier.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(message)]);
      } catch (error) {
        onError(error as Error);
      }
    },
    subscribe(topic, handler) {
      const { remove } = handlers.add(topic, handler as never);
      return () => void remove();
    },
    onMissedMessages: (handler) => handlers.onMissed(handler),
    async close() {
      closed = true;
      handlers.clear();
      await listener?.end().catch(() => {});
      await notifier.end();
    },
  };
}
