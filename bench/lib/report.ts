import type { DownstreamCallsResult } from '../scenarios/downstreamCalls.js';
import type { FanOutResult } from '../scenarios/fanOut.js';
import type { WireBytes } from '../scenarios/wireBytes.js';
import { BASELINES, HTTP_SCENARIOS, HTTP_SERVERS, type ScenarioId, type ServerId } from './httpComparison.js';
import type { LoadOptions, LoadSummary } from './load.js';
import { pairedRatio, type Summary } from './stats.js';

/** What `bench/results/latest.json` holds. */
export interface Report {
  startedAt: string;
  finishedAt?: string;
  mode: 'quick' | 'default';
  machine: { nproc: number; cpu: string; node: string; pinned: boolean; loadAverage: string; loadAverageAtEnd?: string };
  load: LoadOptions;
  /** The BFF's `LOG_LEVEL` (`info` unless `BENCH_LOG_LEVEL` said otherwise). */
  bffLogLevel: string;
  http: HttpRow[];
  downstreamCalls: DownstreamCallsResult[];
  fanOut: FanOutResult[];
  wire: { noChangeSync?: WireBytes; orderList?: Record<string, WireBytes> };
}

export type HttpRow = { scenarioId: ScenarioId; serverId: ServerId; scenario: string; server: string; bytes: number } & LoadSummary;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(2);
const range = (s: Summary, f: (n: number) => string) => (s.runs.length > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/** The markdown tables and the §10 targets, met or not. */
export function renderReport(report: Report): string {
  const out: string[] = [];
  const { machine, load } = report;
  out.push(
    `### mobile-bff bench, ${report.mode} run, ${report.startedAt}`,
    '',
    `${machine.nproc} × ${machine.cpu}, Node ${machine.node}; ${machine.pinned ? 'server on one core, load generator and downstream on the other (taskset)' : 'not pinned'}; load average at start ${machine.loadAverage}${machine.loadAverageAtEnd ? `, at the end ${machine.loadAverageAtEnd}` : ''}.`,
    `HTTP: ${load.connections} connections, warm-up ${load.warmupSeconds} s, ${load.repetitions} × ${load.seconds} s saturated, then ${load.repetitions} × ${load.seconds} s evenly paced (open loop) at half the median saturated rate; the rows interleaved, round by round. Median (min–max) of the rounds; every ratio and verdict is the median of the per-round ratios.`,
    '',
  );
  out.push(...httpTable(report), '');
  if (report.downstreamCalls.length) {
    out.push('S5: the orders screen by hash, every downstream answer delayed 2 ms, one request at a time.', '');
    out.push('| orders (first) | downstream calls / request (proxies) | (BFF metrics) | by route | p50 ms | p99 ms |', '| ---: | ---: | ---: | --- | ---: | ---: |');
    for (const d of report.downstreamCalls) {
      const routes = Object.entries(d.byRoute)
        .map(([route, n]) => `${route}: ${n}`)
        .join('; ');
      out.push(`| ${d.first} | ${d.callsPerRequest} | ${d.bffCountedPerRequest} | ${routes} | ${ms(d.p50)} | ${ms(d.p99)} |`);
    }
    out.push('');
  }

  if (report.fanOut.length) {
    out.push(
      'S6: graphql-ws subscribers of `OrderEvents` (by hash, from now on; all of the demo user, so one change is an event for every one) on one instance: the whole system in one process on the server core (`bff`), and the ceiling, a bare ws server writing the same frames (`bare ws`). Latency: from the request that makes the event (an order status change; for the ceiling, a broadcast request) leaving the load generator to each `next` arriving there, all events pooled. Fan-out: from each event\'s first `next` to each subscriber\'s, pooled: the loop that writes the frames and the sockets, without the way to the first frame (for the BFF: the commit, the feed read and the execution, through the embedded PGlite that every part of the system shares).',
      '',
    );
    out.push('| server | subscribers | RSS per subscriber | V8 heap per subscriber | time to subscribe all | events | first ms | p50 ms | p99 ms (per event) | max ms | fan-out p50 / p99 ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |');
    for (const f of report.fanOut) {
      out.push(`| ${f.server} | ${int(f.subscribers)} | ${kb(f.rssPerSubscriber)} | ${f.heapPerSubscriber === undefined ? '–' : kb(f.heapPerSubscriber)} | ${int(f.subscribeMs)} ms | ${f.events} | ${ms(f.first)} | ${ms(f.p50)} | ${ms(f.p99)} (${f.p99PerEvent.map((p) => p.toFixed(0)).join(', ')}) | ${ms(f.max)} | ${f.spreadP50 === undefined ? '–' : `${ms(f.spreadP50)} / ${ms(f.spreadP99)}`} |`);
    }
    out.push('');
  }

  const { noChangeSync, orderList } = report.wire;
  if (noChangeSync || orderList) {
    out.push('S7: bytes on the wire (HTTP/1.1 response: headers + body).', '');
    out.push('| response | body bytes | header bytes | total |', '| --- | ---: | ---: | ---: |');
    if (noChangeSync) out.push(`| no-change delta sync (productChanges since the latest token) | ${noChangeSync.bodyBytes} | ${noChangeSync.headerBytes} | ${noChangeSync.total} |`);
    for (const [encoding, w] of Object.entries(orderList ?? {})) out.push(`| orders screen (20 orders), ${encoding} | ${w.bodyBytes} | ${w.headerBytes} | ${w.total} |`);
    out.push('');
  }

  out.push('Targets (design.md §10):', '');
  const row = (scenario: ScenarioId, server: ServerId) => report.http.find((h) => h.scenarioId === scenario && h.serverId === server);
  const cpu = (h: HttpRow) => h.serverCpuMicros.median;
  const [s3, s3Mercurius, s3Ceiling, s3Floor] = [row('S3', 'bff'), row('S3', 'mercurius'), row('S3', 'ceiling'), row('S3', 'floor')];
  /** A row's CPU per request ÷ the baseline's, paired by round, and the medians it came from. */
  const against = (measured: HttpRow, base: HttpRow) => {
    const r = pairedRatio(measured.serverCpuMicros, base.serverCpuMicros);
    const rounds = r.rounds > 1 ? `median of the ${r.rounds} rounds' ratios; less in ${r.below} of ${r.rounds}` : r.rounds === 1 ? 'one round' : 'ratio of the medians';
    return { ratio: r.median, text: `${r.median.toFixed(2)}× its CPU (${rounds}; medians ${int(cpu(measured))} against ${int(cpu(base))} µs)` };
  };
  if (s3 && s3Mercurius) {
    const { ratio, text } = against(s3, s3Mercurius);
    out.push(`- S3 by hash: less server CPU per request than Mercurius + graphql-jit: ${text} — ${ratio < 1 ? 'met' : 'MISSED'}`);
  }
  const [s1, s1Mercurius] = [row('S1', 'bff'), row('S1', 'mercurius')];
  if (s1 && s1Mercurius) {
    const { ratio, text } = against(s1, s1Mercurius);
    out.push(`- S1 trivial query within 2× of Mercurius's CPU: ${text} — ${ratio <= 2 ? 'met' : 'MISSED'}`);
  }
  const [s2, s2Yoga] = [row('S2', 'bff'), row('S2', 'yoga')];
  if (s2 && s2Yoga) {
    const { ratio, text } = against(s2, s2Yoga);
    out.push(`- S2 text no slower than stock yoga: ${text} — ${ratio <= 1 ? 'met' : 'MISSED'}`);
  }
  if (s3) {
    const p99 = s3.half.p99.median;
    const ceilingP99 = s3Ceiling?.half.p99.median;
    const verdict = ceilingP99 !== undefined && ceilingP99 > 5 ? `not assessable: the ceiling itself had p99 ${ms(ceilingP99)} ms at half its rate` : p99 <= 5 ? 'met' : 'MISSED';
    out.push(`- S3 p99 ≤ 5 ms at 50% of saturation, where the ceiling holds it: ${ms(p99)} ms${ceilingP99 !== undefined ? ` (ceiling: ${ms(ceilingP99)} ms)` : ''} — ${verdict}`);
    if (s3Floor) {
      const floorP99 = s3Floor.half.p99.median;
      out.push(`  - the latency floor of the same request shape (bare node:http making the same 3 downstream calls, paced at the BFF's rate, ${int(s3Floor.half.rate)}/s): p99 ${ms(floorP99)} ms (${s3Floor.half.p99.runs.map(ms).join(', ')}); the BFF ${ms(p99)} (${s3.half.p99.runs.map(ms).join(', ')})${floorP99 > 5 ? ': above 5 ms, so this run cannot show the target met by any server' : ''}`);
    }
  }
  if (report.downstreamCalls.length) {
    const calls = new Set(report.downstreamCalls.map((d) => d.callsPerRequest));
    out.push(`- downstream calls per request independent of list size: ${[...calls].join(', ')} for ${report.downstreamCalls.map((d) => d.first).join('/')} orders — ${calls.size === 1 ? 'met' : 'MISSED'}`);
  }
  const bffRuns = report.fanOut.filter((f) => f.server === 'bff');
  const tenK = bffRuns.find((f) => f.subscribers >= 10_000) ?? bffRuns.at(-1);
  const ceiling = report.fanOut.find((f) => f.server !== 'bff' && f.subscribers === tenK?.subscribers);
  if (tenK) {
    const perSubscriber = Math.max(tenK.rssPerSubscriber, tenK.heapPerSubscriber ?? 0);
    out.push(`- ≤ 25 KB per subscriber at ${int(tenK.subscribers)}: ${kb(perSubscriber)} (the larger of RSS and heap growth) — ${perSubscriber <= 25 * 1024 ? 'met' : 'MISSED'}`);
    if (ceiling) {
      out.push(`- one event to all ${int(tenK.subscribers)} within 1.1× of a bare ws server writing the same frames (p99, from the request that makes the event): ${ms(tenK.p99)} ms against ${ms(ceiling.p99)} ms (${(tenK.p99 / ceiling.p99).toFixed(2)}×) — ${tenK.p99 <= 1.1 * ceiling.p99 ? 'met' : 'MISSED'}`);
      if (tenK.spreadP99 !== undefined && ceiling.spreadP99 !== undefined) {
        out.push(`  - the fan-out alone (p99 from each event's first frame): ${ms(tenK.spreadP99)} ms against ${ms(ceiling.spreadP99)} ms (${(tenK.spreadP99 / ceiling.spreadP99).toFixed(2)}×); the BFF's first frame came ${ms(tenK.first)} ms after the request, the bare server's ${ms(ceiling.first)}`);
      }
    }
  }
  const [s8Cache, s8Ceiling] = [row('S8', 'bffCache'), row('S8', 'ceiling')];
  if (s8Cache && s8Ceiling) {
    const { ratio, text } = against(s8Cache, s8Ceiling);
    out.push(`- a cached catalogue screen (S8, response cache on) within 3× of the ceiling's CPU per request: ${text} — ${ratio <= 3 ? 'met' : 'MISSED'}`);
  }
  if (noChangeSync) out.push(`- no-change delta sync ≤ 200 bytes: body ${noChangeSync.bodyBytes} bytes (${noChangeSync.total} with headers) — ${noChangeSync.bodyBytes <= 200 ? 'met (body)' : 'MISSED'}`);
  out.push('');
  return `${out.join('\n')}\n`;
}

/**
 * The HTTP rows grouped by scenario, each with its speed relative to the baselines on the same
 * scenario: their server CPU per request ÷ this row's (above 1: this row needs less CPU).
 */
function httpTable(report: Report): string[] {
  const { http } = report;
  if (!http.length) return [];
  const out: string[] = [];
  out.push('Servers (each alone on the server core, one after the other, against the same downstream):', '');
  for (const id of Object.keys(HTTP_SERVERS) as ServerId[]) {
    if (!http.some((h) => h.serverId === id)) continue;
    const settings = id === 'bff' || id === 'ablation' ? HTTP_SERVERS[id].settings.replace('access log at `info`', `access log at \`${report.bffLogLevel}\``) : HTTP_SERVERS[id].settings;
    out.push(`- **${HTTP_SERVERS[id].label}**: ${settings}`);
  }
  out.push(
    '',
    'Server CPU µs/req: the server process\'s own CPU time (user + system, all threads, from /proc) over the saturated runs ÷ answers; median (min–max) of the rounds. Speed vs a baseline: its CPU per request on the same scenario ÷ this row\'s in the same round, the median of the rounds (above 1×: less CPU than it). Every answer was byte-compared with the BFF\'s.',
    '',
  );
  const baselineHeads = BASELINES.map((b) => (b === 'ceiling' ? 'of the ceiling' : `vs ${HTTP_SERVERS[b].label}`));
  out.push(`| scenario | server | server CPU µs/req | req/s | p50 ms | p99 ms | p50 / p99 ms at 50% (rate) | ${baselineHeads.join(' | ')} |`, `| --- | --- | ---: | ---: | ---: | ---: | ---: | ${BASELINES.map(() => '---:').join(' | ')} |`);
  const order = (h: HttpRow) => Object.keys(HTTP_SCENARIOS).indexOf(h.scenarioId) * 100 + Object.keys(HTTP_SERVERS).indexOf(h.serverId);
  for (const h of [...http].sort((a, b) => order(a) - order(b))) {
    const ratios = BASELINES.map((b) => {
      const base = http.find((o) => o.scenarioId === h.scenarioId && o.serverId === b);
      if (!base || base === h) return '–';
      const speed = pairedRatio(base.serverCpuMicros, h.serverCpuMicros).median;
      return b === 'ceiling' ? `${(speed * 100).toFixed(speed < 0.1 ? 1 : 0)}%` : `${speed.toFixed(2)}×`;
    });
    out.push(`| ${h.scenario} | ${h.server} | ${range(h.serverCpuMicros, int)} | ${range(h.rps, int)} | ${ms(h.p50.median)} | ${range(h.p99, ms)} | ${ms(h.half.p50.median)} / ${range(h.half.p99, ms)} (${int(h.half.rate)}/s) | ${ratios.join(' | ')} |`);
  }
  return out;
}
