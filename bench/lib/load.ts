import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { paced, type PacedResult } from './paced.js';
import { summarize, type Summary } from './stats.js';

/** One HTTP request the load generator repeats, and the exact body every answer must have. */
export interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Every response must be 200 with exactly these bytes (checked on the first answer for shape). */
  expectBody: string;
}

export interface RunResult {
  rps: number;
  /** CPU time the server process used per answered request (user + system, from /proc), in µs. */
  serverCpuMicros: number;
  p50: number;
  p99: number;
  requests: number;
}

/** A run failed: some answer was not 200 with the expected body, or a request errored or timed out. */
export class FailedRun extends Error {
  override name = 'FailedRun';
}

/** The `q` quantile of ascending `sorted`, nearest rank. */
const quantile = (sorted: Float64Array, q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! : NaN);

// autocannon's own histogram keeps whole milliseconds; the latencies here are its per-response
// times (float ms, from send to last byte) collected from its `response` events.
/** User + system CPU time of a process so far, in µs (Linux), or NaN. */
function cpuMicrosOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100;

/** One run of autocannon against `target` (saturated, or at `rate`), every answer checked; with `pid`, that process's CPU per answer. */
export async function once(target: Target, { seconds, connections, rate, pid }: { seconds: number; connections: number; rate?: number; pid?: number }): Promise<RunResult> {
  const latencies: number[] = [];
  const cpuBefore = cpuMicrosOf(pid);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: target.method,
        headers: target.headers,
        ...(target.body === undefined ? {} : { body: target.body }),
        connections,
        duration: seconds,
        timeout: 10,
        expectBody: target.expectBody,
        ...(rate ? { overallRate: rate } : {}),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) latencies.push(ms);
    });
  });
  const bad = { non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, mismatches: result.mismatches };
  if (Object.values(bad).some((n) => n > 0)) throw new FailedRun(`${target.method} ${target.url}: ${JSON.stringify(bad)} of ${result.requests.total} requests`);
  const sorted = Float64Array.from(latencies).sort();
  return { rps: result['2xx'] / result.duration, serverCpuMicros: (cpuMicrosOf(pid) - cpuBefore) / result['2xx'], p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), requests: result.requests.total };
}

export interface LoadOptions {
  warmupSeconds: number;
  seconds: number;
  repetitions: number;
  connections: number;
}

export interface LoadSummary {
  /** Saturated: as many requests as `connections` keep in flight. */
  rps: Summary;
  /** CPU µs per request on the server's one core: 1e6 / saturated req/s. */
  cpuMicros: Summary;
  /** CPU time the server process actually used per request in the saturated runs (from /proc): robust to other load on the machine. */
  serverCpuMicros: Summary;
  p50: Summary;
  p99: Summary;
  /** At a fixed, evenly paced rate of half the median saturated rate (`paced`, open loop). */
  half: { rate: number; p50: Summary; p99: Summary };
}

/** Warm-up, then `repetitions` saturated runs (autocannon), then `repetitions` evenly paced runs at half the median saturated rate. */
export async function measure(target: Target, { warmupSeconds, seconds, repetitions, connections }: LoadOptions, pid?: number): Promise<LoadSummary> {
  if (warmupSeconds > 0) await once(target, { seconds: warmupSeconds, connections });
  const saturated: RunResult[] = [];
  for (let i = 0; i < repetitions; i++) saturated.push(await once(target, { seconds, connections, ...(pid === undefined ? {} : { pid }) }));
  const rps = summarize(saturated.map((r) => r.rps));
  const rate = Math.max(1, Math.round(rps.median / 2));
  const half: PacedResult[] = [];
  for (let i = 0; i < repetitions; i++) {
    const result = await paced(target, { rate, seconds });
    if (result.failures > 0) throw new FailedRun(`${target.method} ${target.url} at ${rate}/s: ${result.failures} of ${result.sent} answers failed, first: ${result.firstFailure}`);
    half.push(result);
  }
  return {
    rps,
    cpuMicros: summarize(saturated.map((r) => 1e6 / r.rps)),
    serverCpuMicros: summarize(saturated.map((r) => r.serverCpuMicros)),
    p50: summarize(saturated.map((r) => r.p50)),
    p99: summarize(saturated.map((r) => r.p99)),
    half: { rate, p50: summarize(half.map((r) => r.p50)), p99: summarize(half.map((r) => r.p99)) },
  };
}

/** One server answering one scenario: what `measureInterleaved` measures. */
export interface Slot {
  target: Target;
  /** The server process, for its CPU time. */
  pid?: number;
  /** Paced at that slot's rate (half its saturation) rather than at half of its own. */
  pacedLike?: Slot;
}

/**
 * `measure` for several servers at once, interleaved: every slot gets its warm-up, then each round
 * runs one saturated run of every slot in turn (`repetitions` rounds, every other one in reverse
 * order), then the paced runs the same way. A machine whose speed drifts (another tenant, thermal
 * limits, a busy neighbour core) then shifts every row of a round alike, instead of favouring
 * whichever server ran in a quiet minute; each summary's `runs` are in round order, so two rows can
 * be compared round by round (`pairedRatio`).
 */
export async function measureInterleaved(slots: readonly Slot[], { warmupSeconds, seconds, repetitions, connections }: LoadOptions, onRun?: (slot: number, phase: string) => void): Promise<LoadSummary[]> {
  for (const slot of slots) if (warmupSeconds > 0) await once(slot.target, { seconds: warmupSeconds, connections });
  const saturated: RunResult[][] = slots.map(() => []);
  /** The slots' indexes in a round's order: as given in even rounds, reversed in odd ones, so that no slot always runs first or always after the same neighbour. */
  const orderOf = (round: number) => (round % 2 ? [...slots.keys()].reverse() : [...slots.keys()]);
  for (let round = 0; round < repetitions; round++) {
    for (const i of orderOf(round)) {
      const slot = slots[i]!;
      onRun?.(i, `saturated ${round + 1}/${repetitions}`);
      saturated[i]!.push(await once(slot.target, { seconds, connections, ...(slot.pid === undefined ? {} : { pid: slot.pid }) }));
    }
  }
  const ownRates = saturated.map((runs) => Math.max(1, Math.round(summarize(runs.map((r) => r.rps)).median / 2)));
  const rates = slots.map((slot, i) => ownRates[slot.pacedLike ? slots.indexOf(slot.pacedLike) : -1] ?? ownRates[i]!);
  const half: PacedResult[][] = slots.map(() => []);
  for (let round = 0; round < repetitions; round++) {
    for (const i of orderOf(round)) {
      const slot = slots[i]!;
      onRun?.(i, `paced ${round + 1}/${repetitions} at ${rates[i]}/s`);
      const result = await paced(slot.target, { rate: rates[i]!, seconds });
      if (result.failures > 0) throw new FailedRun(`${slot.target.method} ${slot.target.url} at ${rates[i]}/s: ${result.failures} of ${result.sent} answers failed, first: ${result.firstFailure}`);
      half[i]!.push(result);
    }
  }
  return slots.map((_, i) => ({
    rps: summarize(saturated[i]!.map((r) => r.rps)),
    cpuMicros: summarize(saturated[i]!.map((r) => 1e6 / r.rps)),
    serverCpuMicros: summarize(saturated[i]!.map((r) => r.serverCpuMicros)),
    p50: summarize(saturated[i]!.map((r) => r.p50)),
    p99: summarize(saturated[i]!.map((r) => r.p99)),
    half: { rate: rates[i]!, p50: summarize(half[i]!.map((r) => r.p50)), p99: summarize(half[i]!.map((r) => r.p99)) },
  }));
}
