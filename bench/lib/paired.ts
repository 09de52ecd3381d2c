import { once, type Target } from './load.js';
import { pinSelf, startDownstream, type Child } from './processes.js';
import { pairedRatio, summarize } from './stats.js';

// The paired comparisons of `bench/pairedS3.ts` and `bench/pairedBff.ts`: two servers on the
// server core, measured in turns on the same request, each round in the other order, compared
// round by round (`pairedRatio`), which a drift of the machine's speed moves little.

/** A server of a paired comparison: its name in the output, its process (for its CPU time), its GraphQL URL. */
export interface PairedServer {
  name: string;
  pid: number;
  url: string;
}

/** POSTs `body` to every server and resolves with the answer, once every server has answered it with the same bytes. */
export async function sameAnswer(servers: readonly PairedServer[], headers: Record<string, string>, body: string): Promise<string> {
  let expected: string | undefined;
  for (const server of servers) {
    const text = await (await fetch(server.url, { method: 'POST', headers, body })).text();
    expected ??= text;
    if (text !== expected) throw new Error(`${server.name} answers differently: ${text.slice(0, 200)}`);
  }
  return expected!;
}

/** What one server answers to `request` (a POST to its URL), every answer checked against `expectBody`. */
export const targetOf = (server: PairedServer, request: Omit<Target, 'url' | 'method'>): Target => ({ url: server.url, method: 'POST', ...request });

/** CPU µs per request of one saturated run of `seconds` (10 connections) of `request` on `server`. */
export async function cpuPerRequest(server: PairedServer, request: Omit<Target, 'url' | 'method'>, seconds: number): Promise<number> {
  return (await once(targetOf(server, request), { seconds, connections: 10, pid: server.pid })).serverCpuMicros;
}

/**
 * A warm-up of 5 s on each server, then `rounds` rounds of one run of `seconds` on each (the first
 * server first in even rounds, the second in odd ones; `before` runs just before each run, on the
 * same server: other traffic). Prints each round, and last the median of the per-round ratios of the
 * second server's CPU per request to the first's; resolves with that ratio.
 */
export async function comparePaired(
  [a, b]: readonly [PairedServer, PairedServer],
  request: Omit<Target, 'url' | 'method'>,
  { rounds, seconds, label, before }: { rounds: number; seconds: number; label: string; before?: (server: PairedServer) => Promise<void> },
): Promise<number> {
  for (const server of [a, b]) await cpuPerRequest(server, request, 5);
  const cpu = new Map<PairedServer, number[]>([
    [a, []],
    [b, []],
  ]);
  for (let round = 0; round < rounds; round++) {
    for (const server of round % 2 ? [b, a] : [a, b]) {
      await before?.(server);
      cpu.get(server)!.push(await cpuPerRequest(server, request, seconds));
    }
    const [ofA, ofB] = [cpu.get(a)!.at(-1)!, cpu.get(b)!.at(-1)!];
    process.stdout.write(`round ${round + 1}: ${label} CPU µs/req ${a.name} ${ofA.toFixed(1)}, ${b.name} ${ofB.toFixed(1)}, ${b.name} ÷ ${a.name} ${(ofB / ofA).toFixed(3)}\n`);
  }
  const r = pairedRatio(summarize(cpu.get(b)!), summarize(cpu.get(a)!));
  process.stdout.write(`${label}: ${b.name} ÷ ${a.name}, median of ${rounds} per-round ratios: ${r.median.toFixed(3)}; ${b.name} used less in ${r.below} of ${rounds} rounds\n`);
  return r.median;
}

/**
 * A paired comparison's set-up: this process on the load core, the bench's downstream started, and
 * every process `compare` starts (pushed onto `children`) stopped at the end, whatever happens.
 */
export async function withDownstream(compare: (urls: Record<string, string>, children: Child[]) => Promise<void>): Promise<void> {
  pinSelf();
  const children: Child[] = [];
  try {
    const downstream = await startDownstream();
    children.push(downstream.running);
    await compare(downstream.urls, children);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}
