import type { Bus, BusMessage, BusTopic } from './Bus.js';

/** A bus for one process. Handlers run after the publisher's turn, so a slow one cannot block a write. */
export function createInProcessBus(): Bus {
  const handlers = new Map<BusTopic, Set<(message: BusMessage) => void>>();
  return {
    async publish(message) {
      const set = handlers.get(message.topic);
      if (!set) return;
      for (const handler of set) {
        queueMicrotask(() => {
          try {
            handler(message);
          } catch {
            // A failing subscriber must not affect the publisher or the other subscribers.
          }
        });
      }
    },
    subscribe(topic, handler) {
      let set = handlers.get(topic);
      if (!set) handlers.set(topic, (set = new Set()));
      const h = handler as (message: BusMessage) => void;
      set.add(h);
      return () => void set.delete(h);
    },
    async close() {
      handlers.clear();
    },
  };
}
