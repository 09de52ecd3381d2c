/**
 * Change notices. They are hints ("user X's orders changed"), not the data: a reader that
 * misses one catches up from the owning service's change feed.
 */
export type BusMessage =
  | { topic: 'orders'; userId: string; number: string }
  | { topic: 'products'; sku: string }
  | { topic: 'users'; userId: string };

export type BusTopic = BusMessage['topic'];

export interface Bus {
  publish(message: BusMessage): Promise<void>;
  /** Calls `handler` for every message on `topic` until the returned function is called. */
  subscribe<T extends BusTopic>(topic: T, handler: (message: Extract<BusMessage, { topic: T }>) => void): () => void;
  /**
   * Calls `handler` whenever messages may have been lost (the bus reconnected after an outage),
   * so that readers catch up from the change feeds instead of missing changes silently.
   */
  onMissedMessages(handler: () => void): () => void;
  close(): Promise<void>;
}
