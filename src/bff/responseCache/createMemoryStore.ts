import type { Entity } from './entities.js';
import type { CachedResult, PutOptions, ResponseCacheStore, StoredResult } from './ResponseCacheStore.js';

interface Slot {
  result: CachedResult;
  fresh: boolean;
  keepUntil: number;
  entities: readonly Entity[];
  bytes: number;
}

/** Bytes a slot costs beyond its body: the key, its entities, the bookkeeping. */
const OVERHEAD = 256;

/**
 * Results in this process: a map in least-recently-used order, bounded by `maxEntries` and
 * `maxBytes` (bodies, keys and entities counted), with an index from entity to keys for exact
 * invalidation. An invalidated result stays (not fresh) until it is pushed out or past its keep
 * time, as the last good answer.
 */
export function createMemoryStore({ maxEntries, maxBytes, now = Date.now }: { maxEntries: number; maxBytes: number; now?: () => number }): ResponseCacheStore & { readonly size: number; readonly bytes: number } {
  const slots = new Map<string, Slot>();
  const byEntity = new Map<Entity, Set<string>>();
  let bytes = 0;

  const unindex = (key: string, slot: Slot) => {
    for (const entity of slot.entities) {
      const keys = byEntity.get(entity);
      keys?.delete(key);
      if (keys?.size === 0) byEntity.delete(entity);
    }
  };
  const remove = (key: string) => {
    const slot = slots.get(key);
    if (!slot) return;
    slots.delete(key);
    unindex(key, slot);
    bytes -= slot.bytes;
  };

  return {
    get size() {
      return slots.size;
    },
    get bytes() {
      return bytes;
    },
    async get(key): Promise<StoredResult | undefined> {
      const slot = slots.get(key);
      if (!slot) return undefined;
      const at = now();
      if (at >= slot.keepUntil) {
        remove(key);
        return undefined;
      }
      // Recently used: last to be pushed out.
      slots.delete(key);
      slots.set(key, slot);
      return { result: slot.result, fresh: slot.fresh && at < slot.result.expiresAt };
    },
    async put(key, result, { keepMs, entities }: PutOptions) {
      remove(key);
      const size = OVERHEAD + Buffer.byteLength(result.body) + key.length + entities.reduce((n, e) => n + e.length + 16, 0);
      if (size > maxBytes) return;
      const slot: Slot = { result, fresh: true, keepUntil: now() + keepMs, entities: [...entities], bytes: size };
      slots.set(key, slot);
      bytes += size;
      for (const entity of slot.entities) {
        let keys = byEntity.get(entity);
        if (!keys) byEntity.set(entity, (keys = new Set()));
        keys.add(key);
      }
      for (const oldest of slots.keys()) {
        if (slots.size <= maxEntries && bytes <= maxBytes) break;
        remove(oldest);
      }
    },
    async invalidate(entities) {
      let count = 0;
      for (const entity of entities) {
        const keys = byEntity.get(entity);
        if (!keys) continue;
        for (const key of keys) {
          const slot = slots.get(key);
          if (slot?.fresh) {
            slot.fresh = false;
            count++;
          }
        }
      }
      return count;
    },
    async close() {
      slots.clear();
      byEntity.clear();
      bytes = 0;
    },
  };
}
