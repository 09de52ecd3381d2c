import autocannon from 'autocannon';
import { signDevToken } from '../src/auth/index.js';
import { freePort } from '../src/util/freePort.js';
import { cpuMicrosOf as cpuMicros } from './lib/load.js';
import { firstPartyOperation, requestsFor } from './lib/operations.js';
import { bffBenchEnv, pinSelf, startDownstream, SERVER_CORE, startNode, startScriptNodeFlags, type Child } from './lib/processes.js';

// `node dist/bench/pairedS3.js [rounds] [seconds]` (after `npm run bench` or `tsc -p bench`):
// the BFF (as the bench runs it, response cache off) against Mercurius + graphql-jit on S3, in
// many short alternations on the server core, each pair in turn order. Prints each round's CPU per
// request and their ratio, then the median of the per-round ratios: a paired comparison, which a
// drift of the machine's speed (minutes long on a shared VM) moves much less than the ratio of
// two medians of 3 rounds does. `PAIRED_MIX=1`: before each S3 run, 2 s of S1 and of S2 (text) on
// the same server, so the by-hash requests run in a process that also serves other work.

const rounds = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 4);
const mix = process.env.PAIRED_MIX === '1';

pinSelf();
const children: Child[] = [];
try {
  const downstream = await startDownstream();
  children.push(downstream.running);
  const { urls } = downstream;
  const services = { USERS_URL: urls.users!, CATALOG_URL: urls.catalog!, ORDERS_URL: urls.orders!, NOTIFICATIONS_URL: urls.notifications! };
  const port = await freePort();
  const bff = await startNode('dist/src/main.js', [], {
    name: 'bff',
    core: SERVER_CORE,
    ready: /GraphiQL: (http:\S+)/,
    nodeArgs: startScriptNodeFlags(),
    env: { ...bffBenchEnv(port, urls), RESPONSE_CACHE: 'off' },
  });
  children.push(bff.running);
  const mercurius = await startNode('dist/bench/servers/mercurius.js', [], { name: 'mercurius', core: SERVER_CORE, env: services, ready: /^\{"url":"([^"]+)"\}$/m });
  children.push(mercurius.running);
  const servers = [
    { name: 'bff', pid: bff.running.pid, url: `http://127.0.0.1:${port}/graphql` },
    { name: 'mercurius', pid: mercurius.running.pid, url: mercurius.match[1]! },
  ];

  const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${await signDevToken({ sub: 'demo', expiresIn: '2h' })}` };
  const orderList = requestsFor(servers[0]!.url, firstPartyOperation('OrderList'), { first: 20 });
  const bodies = { S1: '{"query":"{ __typename }"}', S2: orderList.text, S3: orderList.byHash };
  const expected: Partial<Record<keyof typeof bodies, string>> = {};
  for (const server of servers) {
    for (const scenario of Object.keys(bodies) as (keyof typeof bodies)[]) {
      const text = await (await fetch(server.url, { method: 'POST', headers, body: bodies[scenario] })).text();
      expected[scenario] ??= text;
      if (text !== expected[scenario]) throw new Error(`${server.name} answers ${scenario} differently: ${text.slice(0, 200)}`);
    }
  }
  const run = async (server: (typeof servers)[number], scenario: keyof typeof bodies, duration: number) => {
    const before = cpuMicros(server.pid);
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      autocannon({ url: server.url, method: 'POST', headers, body: bodies[scenario], connections: 10, duration, timeout: 10, expectBody: expected[scenario]! }, (error, done) => (error ? reject(error) : resolve(done)));
    });
    const mismatches = (result as autocannon.Result & { mismatches?: number }).mismatches ?? 0;
    if (result.errors || result.timeouts || result.non2xx || mismatches) throw new Error(`${server.name} ${scenario}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx, ${mismatches} other answers`);
    return (cpuMicros(server.pid) - before) / result.requests.total;
  };

  for (const server of servers) await run(server, 'S3', 5); // warm-up
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const cpu: Record<string, number> = {};
    for (const server of round % 2 ? [...servers].reverse() : servers) {
      if (mix) {
        await run(server, 'S1', 2);
        await run(server, 'S2', 2);
      }
      cpu[server.name] = await run(server, 'S3', seconds);
    }
    const ratio = cpu.bff! / cpu.mercurius!;
    ratios.push(ratio);
    process.stdout.write(`round ${round + 1}: S3 CPU µs/req bff ${cpu.bff!.toFixed(0)}, mercurius ${cpu.mercurius!.toFixed(0)}, ratio ${ratio.toFixed(3)}\n`);
  }
  ratios.sort((a, b) => a - b);
  const median = ratios.length % 2 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
  process.stdout.write(`${mix ? 'mixed traffic, ' : ''}median of ${rounds} per-round ratios, BFF CPU ÷ Mercurius CPU: ${median.toFixed(3)}; the BFF used less in ${ratios.filter((r) => r < 1).length} of ${rounds} rounds\n`);
} finally {
  await Promise.all(children.map((c) => c.stop()));
}
