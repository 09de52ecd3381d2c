import type { DownstreamCallsResult } from '../scenarios/downstreamCalls.js';
import type { FanOutResult } from '../scenarios/fanOut.js';
import type { WireBytes } from '../scenarios/wireBytes.js';
import type { LoadOptions, LoadSummary } from './load.js';
import type { Summary } from './stats.js';

/** What `bench/results/latest.json` holds. */
export interface Report {
  startedAt: string;
  finishedAt?: string;
  mode: 'quick' | 'default';
  machine: { nproc: number; cpu: string; node: string; pinned: boolean; loadAverage: string; loadAverageAtEnd?: string };
  load: LoadOptions;
  http: ({ scenario: string; server: string; bytes: number } & LoadSummary)[];
  downstreamCalls: DownstreamCallsResult[];
  fanOut: FanOutResult[];
  wire: { noChangeSync?: WireBytes; orderList?: Record<string, WireBytes> };
}

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
    `HTTP: ${load.connections} connections, warm-up ${load.warmupSeconds} s, ${load.repetitions} × ${load.seconds} s saturated, then ${load.repetitions} × ${load.seconds} s evenly paced (open loop) at half the median saturated rate. Median (min–max) of the repetitions.`,
    '',
  );
  const stock = report.http.find((h) => h.server === 'fast paths off' && h.scenario.startsWith('S4'));
  const bare = report.http.find((h) => h.server === 'bare node:http');
  out.push('| scenario | server | req/s | CPU µs/req | server CPU µs/req (measured) | p50 ms | p99 ms | p50 / p99 ms at 50% (rate) | × S4 stock | ÷ ceiling |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const h of report.http) {
    const vsStock = stock ? `${(h.rps.median / stock.rps.median).toFixed(2)}×` : '–';
    const vsBare = bare ? `${((h.rps.median / bare.rps.median) * 100).toFixed(0)}%` : '–';
    out.push(`| ${h.scenario} | ${h.server} | ${range(h.rps, int)} | ${int(h.cpuMicros.median)} | ${int(h.serverCpuMicros.median)} | ${ms(h.p50.median)} | ${range(h.p99, ms)} | ${ms(h.half.p50.median)} / ${range(h.half.p99, ms)} (${int(h.half.rate)}/s) | ${vsStock} | ${vsBare} |`);
  }
  out.push('');

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
      'S6: graphql-ws subscribers of `OrderEvents` (by hash, from now on; all of the demo user, so one change is an event for every one) on one instance: the whole system in one process on the server core (`bff`), and the ceiling, a bare ws server writing the same frames (`bare ws`). Latency: from the request that makes the event (an order status change; for the ceiling, a broadcast request) leaving the load generator to each `next` arriving there, all events pooled.',
      '',
    );
    out.push('| server | subscribers | RSS per subscriber | V8 heap per subscriber | time to subscribe all | events | first ms | p50 ms | p99 ms (per event) | max ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
    for (const f of report.fanOut) {
      out.push(`| ${f.server} | ${int(f.subscribers)} | ${kb(f.rssPerSubscriber)} | ${f.heapPerSubscriber === undefined ? '–' : kb(f.heapPerSubscriber)} | ${int(f.subscribeMs)} ms | ${f.events} | ${ms(f.first)} | ${ms(f.p50)} | ${ms(f.p99)} (${f.p99PerEvent.map((p) => p.toFixed(0)).join(', ')}) | ${ms(f.max)} |`);
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
  const s3 = report.http.find((h) => h.server === 'fast' && h.scenario.includes('by hash, POST'));
  if (s3 && stock) {
    const ratio = s3.rps.median / stock.rps.median;
    out.push(`- S3 by hash ≥ 2× stock yoga (S4): ${ratio.toFixed(2)}× — ${ratio >= 2 ? 'met' : 'MISSED'}`);
    out.push(`- S3 p99 ≤ 5 ms at 50% of saturation: ${ms(s3.half.p99.median)} ms — ${s3.half.p99.median <= 5 ? 'met' : 'MISSED'}`);
  }
  if (s3 && bare) out.push(`- S3 reaches ${((s3.rps.median / bare.rps.median) * 100).toFixed(0)}% of the bare node:http ceiling with the same bytes`);
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
    out.push(`- one event to all ${int(tenK.subscribers)} with p99 ≤ 150 ms: ${ms(tenK.p99)} ms — ${tenK.p99 <= 150 ? 'met' : 'MISSED'}${ceiling ? ` (a bare ws server writing the same frames: p99 ${ms(ceiling.p99)} ms)` : ''}`);
  }
  if (noChangeSync) out.push(`- no-change delta sync ≤ 200 bytes: body ${noChangeSync.bodyBytes} bytes (${noChangeSync.total} with headers) — ${noChangeSync.bodyBytes <= 200 ? 'met (body)' : 'MISSED'}`);
  out.push('');
  return `${out.join('\n')}\n`;
}
