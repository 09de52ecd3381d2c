import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves with the first truthy value of `probe`, polled every `intervalMs`; rejects after
 * `timeoutMs` naming `what`. A readiness signal for conditions that announce themselves nowhere
 * (a counter, a gauge, a row): never a fixed sleep, so it waits as long as a busy machine needs
 * and no longer than an idle one.
 */
export async function waitUntil<T>(probe: () => T | Promise<T>, { timeoutMs = 30_000, intervalMs = 20, what = 'a condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
