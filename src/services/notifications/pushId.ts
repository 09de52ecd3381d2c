import { createHash } from 'node:crypto';

/** The namespace of push ids (a random v4 UUID, fixed forever: changing it changes every id). */
const NAMESPACE = Buffer.from('6c1f0e3a9d8b4f27a1e5c3b2d4f60718', 'hex');

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 of namespace and name) from the parts that make
 * one push: the same (device, change) always gives the same id, so a retry after a crash sends the
 * same APNs `apns-id` / FCM `data.pushId` and a receiver can drop a repeat. Hand-written: the
 * whole algorithm is these lines over node:crypto, not worth a dependency.
 */
export function pushId(...parts: string[]): string {
  const hash = createHash('sha1').update(NAMESPACE).update(parts.join('\u0000')).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
