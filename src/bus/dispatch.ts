import type { BusMessage, BusTopic } from './Bus.js';

type Handler = (message: BusMessage) => void;

/** The handler registry every bus shares: per-topic sets, and a delivery that no handler can break. */
export function createHandlers() {
  const byTopic = new Map<BusTopic, Set<Handler>>();
  const missed = new Set<() => void>();
  const safely = (fn: () => void) => {
    try {
      fn();
    } catch {
      // A failing subscriber must not affect the bus or the other subscribers.
    }
  };
  return {
    /** Adds a handler; `first` tells the bus to start listening to a topic it did not listen to. */
    add(topic: BusTopic, handler: Handler): { first: boolean; remove: () => boolean } {
      let set = byTopic.get(topic);
      const first = !set || set.size === 0;
      if (!set) byTopic.set(topic, (set = new Set()));
      set.add(handler);
      return {
        first,
        remove: () => {
          set.delete(handler);
          return set.size === 0;
        },
      };
    },
    deliver(message: BusMessage) {
      for (const handler of byTopic.get(message.topic) ?? []) safely(() => handler(message));
    },
    onMissed(handler: () => void) {
      missed.add(handler);
      return () => void missed.delete(handler);
    },
    missed() {
      for (const handler of missed) safely(handler);
    },
    clear() {
      byTopic.clear();
      missed.clear();
    },
  };
}

const TOPICS: ReadonlySet<string> = new Set<BusTopic>(['orders', 'products', 'users']);

/** Parses a message from the wire; `undefined` for anything that is not one of ours. */
export function parseMessage(raw: string): BusMessage | undefined {
  try {
    const value = JSON.parse(raw) as BusMessage;
    return value && typeof value === 'object' && TOPICS.has(value.topic) ? value : undefined;
  } catch {
    return undefined;
  }
}
