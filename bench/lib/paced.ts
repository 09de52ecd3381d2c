import { Pool } from 'undici';
import type { Target } from './load.js';

export interface PacedResult {
  sent: number;
  /**
   * Latency from when each request was handed to the connection pool (queueing for a free
   * connection included) to its last byte, in ms. Sending never waits for answers (open loop),
   * so a slow server cannot slow the load down and hide its own latency.
   */
  p50: number;
  p99: number;
  failures: number;
  firstFailure?: string;
}

/**
 * An open-loop load at a fixed rate, evenly paced: autocannon's `overallRate` lets each
 * connection send its whole second's quota back to back and then wait, which is saturation for
 * part of every second. Here, every millisecond the requests due by then are sent, whatever is
 * still in flight.
 */
export async function paced(target: Target, { rate, seconds, connections = 32 }: { rate: number; seconds: number; connections?: number }): Promise<PacedResult> {
  const { origin, pathname, search } = new URL(target.url);
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;

  const one = async () => {
    const sentAt = performance.now();
    try {
      const { statusCode, body } = await pool.request({ path: pathname + search, method: target.method, headers: target.headers, ...(target.body === undefined ? {} : { body: target.body }) });
      const text = await body.text();
      if (statusCode !== 200 || text !== target.expectBody) {
        failures++;
        firstFailure ??= `HTTP ${statusCode}: ${text.slice(0, 200)}`;
        return;
      }
      latencies.push(performance.now() - sentAt);
    } catch (error) {
      failures++;
      firstFailure ??= String(error);
    }
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate));
      while (sent < due) {
        const p = one();
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        sent++;
      }
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  await Promise.all(inFlight);
  await pool.close();
  const sorted = Float64Array.from(latencies).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : NaN);
  return { sent, p50: q(0.5), p99: q(0.99), failures, ...(firstFailure ? { firstFailure } : {}) };
}
