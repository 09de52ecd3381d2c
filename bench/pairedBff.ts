import autocannon from 'autocannon';
import { signDevToken } from '../src/auth/index.js';
import { freePort } from '../src/util/freePort.js';
import { cpuMicrosOf } from './lib/load.js';
import { firstPartyOperation, requestsFor } from './lib/operations.js';
import { bffBenchEnv, pinSelf, startDownstream, SERVER_CORE, startNode, startScriptNodeFlags, type Child } from './lib/processes.js';
import { pairedRatio, summarize } from './lib/stats.js';

// `node dist/bench/pairedBff.js [rounds] [seconds] [S1|S2|S3]` (after `npm run bench` or `tsc -p bench`):
// two BFFs, A and B, as the bench runs them (response cache off), on the server core in turns,
// each round in the other order; prints each round's CPU per request and the median of the
// per-round ratios B ÷ A. For a change measured before it lands: `A_DIST` / `B_DIST` name a copy
// of `dist/` for either (e.g. `cp -r dist dist-prev` before building the change; the copy must sit
// in the project, beside node_modules), `A_ENV` / `B_ENV` add environment as JSON
// (`B_ENV='{"LOG_LEVEL":"warn"}'`). Run it A against A too: two processes of the same build differ
// by a few per cent (V8's compilation is not deterministic), which is the smallest effect it shows.

const rounds = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 3);
const scenario = (process.argv[4] ?? 'S3') as 'S1' | 'S2' | 'S3';

pinSelf();
const children: Child[] = [];
try {
  const downstream = await startDownstream();
  children.push(downstream.running);
  const { urls } = downstream;
  const servers: { name: 'A' | 'B'; pid: number; url: string }[] = [];
  for (const name of ['A', 'B'] as const) {
    const port = await freePort();
    const started = await startNode(`${process.env[`${name}_DIST`] ?? 'dist'}/src/main.js`, [], {
      name,
      core: SERVER_CORE,
      ready: /GraphiQL: (http:\S+)/,
      nodeArgs: startScriptNodeFlags(),
      env: { ...bffBenchEnv(port, urls), RESPONSE_CACHE: 'off', ...(JSON.parse(process.env[`${name}_ENV`] ?? '{}') as Record<string, string>) },
    });
    children.push(started.running);
    servers.push({ name, pid: started.running.pid, url: `http://127.0.0.1:${port}/graphql` });
  }
  const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${await signDevToken({ sub: 'demo', expiresIn: '2h' })}` };
  const orderList = requestsFor(servers[0]!.url, firstPartyOperation('OrderList'), { first: 20 });
  const body = { S1: '{"query":"{ __typename }"}', S2: orderList.text, S3: orderList.byHash }[scenario];
  let expected: string | undefined;
  for (const server of servers) {
    const text = await (await fetch(server.url, { method: 'POST', headers, body })).text();
    expected ??= text;
    if (text !== expected) throw new Error(`${server.name} answers ${scenario} differently: ${text.slice(0, 200)}`);
  }
  const run = async (server: (typeof servers)[number], duration: number) => {
    const before = cpuMicrosOf(server.pid);
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      autocannon({ url: server.url, method: 'POST', headers, body, connections: 10, duration, timeout: 10, expectBody: expected! }, (error, done) => (error ? reject(error) : resolve(done)));
    });
    const mismatches = (result as autocannon.Result & { mismatches?: number }).mismatches ?? 0;
    if (result.errors || result.timeouts || result.non2xx || mismatches) throw new Error(`${server.name}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx, ${mismatches} other answers`);
    return (cpuMicrosOf(server.pid) - before) / result.requests.total;
  };
  for (const server of servers) await run(server, 4); // warm-up
  const cpu: Record<'A' | 'B', number[]> = { A: [], B: [] };
  for (let round = 0; round < rounds; round++) {
    for (const server of round % 2 ? [...servers].reverse() : servers) cpu[server.name].push(await run(server, seconds));
    process.stdout.write(`round ${round + 1}: ${scenario} CPU µs/req A ${cpu.A.at(-1)!.toFixed(1)}, B ${cpu.B.at(-1)!.toFixed(1)}, B ÷ A ${(cpu.B.at(-1)! / cpu.A.at(-1)!).toFixed(3)}\n`);
  }
  const r = pairedRatio(summarize(cpu.B), summarize(cpu.A));
  process.stdout.write(`${scenario}: B ÷ A, median of ${rounds} per-round ratios: ${r.median.toFixed(3)}; B used less in ${r.below} of ${rounds} rounds\n`);
} finally {
  await Promise.all(children.map((c) => c.stop()));
}
