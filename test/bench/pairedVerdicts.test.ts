import { renderReport, type HttpRow, type Report } from '../../bench/lib/report.js';
import { pairedRatio, summarize } from '../../bench/lib/stats.js';

// The bench's verdicts compare rows measured in the same interleaved rounds round by round
// (bench/lib/stats.ts pairedRatio): one slow minute on one server's turn must not decide them.

const row = (scenarioId: HttpRow['scenarioId'], serverId: HttpRow['serverId'], cpu: number[]): HttpRow => {
  const s = summarize(cpu);
  return { scenarioId, serverId, scenario: scenarioId, server: serverId, bytes: 1, rps: s, cpuMicros: s, serverCpuMicros: s, p50: s, p99: s, half: { rate: 1, p50: s, p99: s } };
};

const report = (http: HttpRow[]): Report => ({
  startedAt: '2026-11-28T00:00:00Z',
  mode: 'default',
  machine: { nproc: 2, cpu: 'test', node: 'v20', pinned: true, loadAverage: '0' },
  load: { warmupSeconds: 0, seconds: 1, repetitions: 3, connections: 1 },
  bffLogLevel: 'info',
  http,
  downstreamCalls: [],
  fanOut: [],
  wire: {},
});

test('pairedRatio is the median of the per-round ratios and counts the rounds below 1', () => {
  expect(pairedRatio(summarize([90, 180, 100]), summarize([100, 200, 80]))).toEqual({ median: 0.9, below: 2, rounds: 3 });
  // Different round counts cannot be paired: the ratio of the medians.
  expect(pairedRatio(summarize([50]), summarize([100, 100]))).toEqual({ median: 0.5, below: 1, rounds: 0 });
});

test('a drift in one round does not decide the S3 verdict: the BFF below Mercurius in each round meets it, though its median is higher', () => {
  // Medians: the BFF 1,000, Mercurius 800 (the ratio of the medians: missed). Per round: 0.92, 0.91, 1.31.
  const text = renderReport(report([row('S3', 'bff', [600, 1000, 1050]), row('S3', 'mercurius', [650, 1100, 800])]));
  expect(text).toMatch(/S3 by hash: less server CPU per request than Mercurius \+ graphql-jit: 0\.92× its CPU \(median of the 3 rounds' ratios; less in 2 of 3; medians 1,000 against 800 µs\) — met/);
});

test('a BFF above Mercurius in most rounds misses S3, and S1 and S2 are judged by the paired ratio too', () => {
  const text = renderReport(
    report([
      row('S3', 'bff', [800, 800, 800]),
      row('S3', 'mercurius', [700, 900, 750]),
      row('S1', 'bff', [50, 61, 40]),
      row('S1', 'mercurius', [20, 30, 25]),
      row('S2', 'bff', [1000, 1000, 1000]),
      row('S2', 'yoga', [1100, 900, 1200]),
    ]),
  );
  expect(text).toMatch(/S3 by hash: .*1\.07× its CPU \(median of the 3 rounds' ratios; less in 1 of 3;.* — MISSED/);
  // S1: 2.5, 2.03, 1.6: median 2.03 > 2.
  expect(text).toMatch(/S1 trivial query within 2× of Mercurius's CPU: 2\.03× .* — MISSED/);
  // S2: 0.91, 1.11, 0.83: median 0.91.
  expect(text).toMatch(/S2 text no slower than stock yoga: 0\.91× .* — met/);
  // The table's speed columns are paired too: the BFF's S3 row against Mercurius, 700/800, 900/800, 750/800 → 0.94×.
  expect(text).toMatch(/\| S3 \| bff \| 800 \(800–800\) \|.*\| 0\.94× \|/);
});

test("the cached catalogue screen is judged against the ceiling's CPU (design.md §10: within 3×)", () => {
  const within = renderReport(report([row('S8', 'bffCache', [60, 70, 66]), row('S8', 'ceiling', [20, 25, 22])]));
  expect(within).toMatch(/a cached catalogue screen \(S8, response cache on\) within 3× of the ceiling's CPU per request: 3\.00× .* — met/);
  const beyond = renderReport(report([row('S8', 'bffCache', [107, 93, 150]), row('S8', 'ceiling', [24, 19, 24])]));
  expect(beyond).toMatch(/within 3× of the ceiling's CPU per request: 4\.89× .* — MISSED/);
});
