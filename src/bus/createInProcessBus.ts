import type { Bus } from './Bus.js';
import { createHandlers } from './dispatch.js';

/** A bus for one process. Handlers run after the publisher's turn, so a slow one cannot block a write. */
export function createInProcessBus(): Bus {
  const handlers = createHandlers();
  return {
    async publish(message) {
      queueMicrotask(() => handlers.deliver(message));
    },
    subscribe(topic, handler) {
      const { remove } = handlers.add(topic, handler as never);
      return () => void remove();
    },
    // Nothing is ever lost in one process.
    onMissedMessages: () => () => {},
    async close() {
      handlers.clear();
    },
  };
}
