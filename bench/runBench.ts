import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDevToken } from '../src/auth/index.js';
import { freePort } from '../src/util/freePort.js';
import { projectRoot } from '../src/util/projectRoot.js';
import { FailedRun, measureInterleaved, type LoadOptions, type Slot, type Target } from './lib/load.js';
import { HTTP_SCENARIOS, HTTP_SERVERS, type ScenarioId, type ServerId } from './lib/httpComparison.js';
import { checkOrderList, firstPartyOperation, requestsFor } from './lib/operations.js';
import { bffBenchEnv, canPin, LOAD_CORE, pinSelf, startDownstream, SERVER_CORE, startNode, startScriptNodeFlags, type Child } from './lib/processes.js';
import { renderReport, type Report } from './lib/report.js';
import { measureDownstreamCalls, type DownstreamCallsResult } from './scenarios/downstreamCalls.js';
import { checkOrderEvent, heapOf, sharedSubscribersOf, measureFanOut, type FanOutResult } from './scenarios/fanOut.js';
import { wireBytes, type WireBytes } from './scenarios/wireBytes.js';

// `npm run bench [-- --quick] [--profile] [--only=S1,S3] [--servers=bff,mercurius]`: design.md §10. See bench/README.md.

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const profile = args.includes('--profile');
const listArg = (name: string) => {
  const value = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return value ? new Set(value.split(',')) : undefined;
};
const only = listArg('only');
const servers = listArg('servers');
const known = { only: new Set([...Object.keys(HTTP_SCENARIOS), 'S5', 'S6', 'S7']), servers: new Set(Object.keys(HTTP_SERVERS)) };
if (servers?.has('floor') && !servers.has('bff')) {
  process.stderr.write('--servers: floor is paced at the BFF\'s rate; name bff too\n');
  process.exit(2);
}
for (const [name, given] of [['only', only], ['servers', servers]] as const) {
  const unknown = [...(given ?? [])].filter((v) => !known[name].has(v));
  if (unknown.length) {
    process.stderr.write(`--${name}: unknown ${unknown.join(', ')}; expected some of ${[...known[name]].join(', ')}\n`);
    process.exit(2);
  }
}
const wants = (scenario: string) => !only || only.has(scenario);
/** Whether `server` is measured on `scenario` in this run. */
const measures = (server: ServerId, scenario: ScenarioId) => wants(scenario) && (!servers || servers.has(server)) && (HTTP_SERVERS[server].scenarios as readonly ScenarioId[]).includes(scenario);

const load: LoadOptions = quick ? { warmupSeconds: 1, seconds: 2, repetitions: 1, connections: 10 } : { warmupSeconds: 5, seconds: 4, repetitions: 5, connections: 10 };
const S5_REQUESTS = quick ? 20 : 200;
const S6_COUNTS = quick ? [200, 1000] : [1000, 10_000];
const S6_EVENTS = quick ? 2 : 5;

const root = projectRoot();
const resultsDir = join(root, 'bench/results');
const profileDir = join(resultsDir, 'profiles');


const log = (line: string) => process.stderr.write(`${line}\n`);

/** One BFF process as `npm start` runs it, against the downstream proxies, on the server core. */
async function startBff(name: string, serviceUrls: Record<string, string>, env: Record<string, string>) {
  const port = await freePort();
  const { running } = await startNode('dist/src/main.js', [], {
    name,
    core: SERVER_CORE,
    ready: /GraphiQL: (http:\S+)/,
    // --expose-gc and gcOnSignal: S6 compares memory after full collections. Neither costs a request anything.
    // npm start's flags (package.json), then any of BENCH_NODE_ARGS.
    nodeArgs: [...startScriptNodeFlags(), ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), '--expose-gc', '--import', join(root, 'dist/bench/servers/gcOnSignal.js'), ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [])],
    env: { ...bffBenchEnv(port, serviceUrls), ...env },
  });
  const base = `http://127.0.0.1:${port}`;
  return { running, graphqlUrl: `${base}/graphql`, metricsUrl: `${base}/metrics`, wsUrl: `ws://127.0.0.1:${port}/graphql` };
}

async function answer(url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }) {
  const response = await fetch(url, init);
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** The exact answer of a request, after checking its status and shape: the bytes every answer under load must equal. */
async function expected(label: string, url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, check: (body: any) => string | undefined) {
  const got = await answer(url, init);
  const problem = got.status !== 200 ? `HTTP ${got.status}: ${got.text.slice(0, 300)}` : check(JSON.parse(got.text));
  if (problem) throw new FailedRun(`${label}: ${problem}`);
  return got;
}

/** Where `got` first differs from `want`, for a failed comparison. */
function difference(want: string, got: { status: number; text: string }): string {
  if (got.status !== 200) return `HTTP ${got.status}: ${got.text.slice(0, 300)}`;
  let at = 0;
  while (at < want.length && want[at] === got.text[at]) at++;
  return `${got.text.length} bytes against ${want.length}, first difference at byte ${at}: …${JSON.stringify(got.text.slice(Math.max(0, at - 40), at + 80))} where the BFF has …${JSON.stringify(want.slice(Math.max(0, at - 40), at + 80))}`;
}

const TRIVIAL = '{"query":"{ __typename }"}';

async function main() {
  pinSelf();
  mkdirSync(resultsDir, { recursive: true });
  if (profile) mkdirSync(profileDir, { recursive: true });
  const started = new Date();
  log(`mobile-bff bench (${quick ? 'quick' : 'default'}): ${canPin ? `servers on core ${SERVER_CORE}, load generator and downstream on core ${LOAD_CORE}` : 'no pinning (taskset or a second core missing)'}`);

  const children: Child[] = [];
  const stopAll = async () => {
    for (const child of children.splice(0).reverse()) await child.stop();
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

  const report: Report = {
    startedAt: started.toISOString(),
    mode: quick ? 'quick' : 'default',
    machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, pinned: canPin, loadAverage: readFileSync('/proc/loadavg', 'utf8').trim() },
    load,
    bffLogLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
    http: [],
    downstreamCalls: [],
    fanOut: [],
    wire: {},
  };

  try {
    const { running: downstream, urls: serviceUrls, control } = await startDownstream();
    children.push(downstream);

    const authorization = `Bearer ${await signDevToken({ sub: 'demo', expiresIn: '2h' })}`;
    const orderList = firstPartyOperation('OrderList');
    const catalogPage = firstPartyOperation('CatalogPage');
    const json = { 'content-type': 'application/json', accept: 'application/json' };
    const authed = { ...json, authorization };
    const getHeaders = { ...authed, 'apollo-require-preflight': 'true' };

    /** What `scenario` sends to the GraphQL endpoint `url`. */
    const requestOf = (scenario: ScenarioId, url: string): Omit<Target, 'expectBody'> => {
      const r = requestsFor(url, orderList, { first: 20 });
      switch (scenario) {
        case 'S1':
          return { url, method: 'POST', headers: json, body: TRIVIAL };
        case 'S2':
          return { url, method: 'POST', headers: authed, body: r.text };
        case 'S3':
          return { url, method: 'POST', headers: authed, body: r.byHash };
        case 'S3get':
          return { url: r.getUrl, method: 'GET', headers: getHeaders };
        case 'S8':
          return { url, method: 'POST', headers: json, body: requestsFor(url, catalogPage, { first: 20 }).byHash };
      }
    };

    let s3Calls: { url: string; method: string; body: string }[] = [];
    /** The BFF's answer to each scenario: the bytes every server must answer, every time. */
    const reference: Partial<Record<ScenarioId, { text: string; contentType: string }>> = {};

    // Every server stays up until all are measured: the runs are interleaved (measureInterleaved),
    // so a drift in the machine's speed shifts every row alike.
    const slots: (Slot & { scenario: ScenarioId; server: ServerId })[] = [];
    const run = (scenario: ScenarioId, server: ServerId, url: string, pid: number, pacedLike?: Slot) => {
      slots.push({ scenario, server, pid, target: { ...requestOf(scenario, url), expectBody: reference[scenario]!.text }, ...(pacedLike ? { pacedLike } : {}) });
    };
    const measureAll = async () => {
      // In table order: scenario, then server.
      const serverOrder = Object.keys(HTTP_SERVERS);
      const scenarioOrder = Object.keys(HTTP_SCENARIOS);
      slots.sort((a, b) => scenarioOrder.indexOf(a.scenario) - scenarioOrder.indexOf(b.scenario) || serverOrder.indexOf(a.server) - serverOrder.indexOf(b.server));
      log(`  ${slots.length} rows, interleaved: ${slots.map((s) => `${s.scenario} on ${s.server}`).join(', ')}`);
      const summaries = await measureInterleaved(slots, load, (i, phase) => log(`  ${phase}: ${slots[i]!.scenario} on ${HTTP_SERVERS[slots[i]!.server].label}`));
      for (const [i, summary] of summaries.entries()) {
        const { scenario, server, target } = slots[i]!;
        const { label } = HTTP_SERVERS[server];
        report.http.push({ scenarioId: scenario, serverId: server, scenario: HTTP_SCENARIOS[scenario], server: label, bytes: Buffer.byteLength(target.expectBody), ...summary });
        log(`    ${scenario} on ${label}: ${Math.round(summary.rps.median)} req/s, ${Math.round(summary.serverCpuMicros.median)} µs CPU/req, p99 ${summary.p99.median.toFixed(2)} ms; at ${summary.half.rate}/s p50 ${summary.half.p50.median.toFixed(2)} p99 ${summary.half.p99.median.toFixed(2)} ms`);
      }
    };

    /**
     * Before a server is measured: each of its scenarios' requests, sent three times (a first
     * answer, then from its caches and, for Mercurius, compiled), must get the BFF's exact bytes.
     * Under load every answer is compared again (`expectBody`).
     */
    const checkSameAnswers = async (server: ServerId, url: string) => {
      for (const scenario of HTTP_SERVERS[server].scenarios) {
        const want = reference[scenario]!.text;
        const { url: target, ...init } = requestOf(scenario, url);
        for (let n = 1; n <= 3; n++) {
          const got = await answer(target, init);
          if (got.status !== 200 || got.text !== want) throw new FailedRun(`${HTTP_SERVERS[server].label}, ${scenario} (answer ${n}): not the BFF's bytes: ${difference(want, got)}`);
        }
      }
    };

    // The BFF, every production feature on.
    {
      // The response cache off: the rows compare the same work; S8 measures it on and off.
      const bff = await startBff('bff', serviceUrls, { RESPONSE_CACHE: 'off' });
      children.push(bff.running);
      const url = bff.graphqlUrl;
      const r = requestsFor(url, orderList, { first: 20 });
      const check = (scenario: ScenarioId, shape: (body: any) => string | undefined) => {
        const { url: target, ...init } = requestOf(scenario, url);
        return expected(scenario, target, init, shape).then((got) => (reference[scenario] = got));
      };
      await check('S1', (b) => (b.data?.__typename === 'Query' ? undefined : JSON.stringify(b)));
      const s2 = await check('S2', (b) => checkOrderList(b, 20));
      // The downstream calls of one S3 request, in order: what the latency floor (`floor`) repeats.
      await fetch(`${control}/received/start`, { method: 'POST' });
      const s3 = await check('S3', (b) => checkOrderList(b, 20));
      await fetch(`${control}/received/stop`, { method: 'POST' });
      const received = (await (await fetch(`${control}/received`)).json()) as { service: string; method: string; url: string; body: string }[];
      s3Calls = received.map((c) => ({ url: serviceUrls[c.service]! + c.url, method: c.method, body: c.body }));
      const s3get = await check('S3get', (b) => checkOrderList(b, 20));
      if (s3.text !== s2.text || s3get.text !== s2.text) throw new FailedRun('S3 (by hash) answered other bytes than S2 (text) for the same operation');
      await check('S8', (b) => (b.errors?.length || b.data?.products?.edges?.length !== 20 ? `expected 20 products: ${JSON.stringify(b).slice(0, 300)}` : undefined));

      for (const scenario of HTTP_SERVERS.bff.scenarios) if (measures('bff', scenario)) run(scenario, 'bff', url, bff.running.pid);

      if (wants('S5')) {
        log('  S5 downstream calls per request, 2 ms downstream delay…');
        await fetch(`${control}/delay?ms=2`, { method: 'POST' });
        try {
          for (const first of [5, 20, 50]) {
            const body = requestsFor(bff.graphqlUrl, orderList, { first }).byHash;
            const result: DownstreamCallsResult = await measureDownstreamCalls({ graphqlUrl: bff.graphqlUrl, metricsUrl: bff.metricsUrl, controlUrl: control, body, authorization, first, requests: S5_REQUESTS });
            report.downstreamCalls.push(result);
            log(`    first=${first}: ${result.callsPerRequest} calls/request, p50 ${result.p50.toFixed(2)} ms`);
          }
        } finally {
          await fetch(`${control}/delay?ms=0`, { method: 'POST' });
        }
      }

      if (wants('S7')) {
        log('  S7 bytes on the wire…');
        const syncQuery = 'query ProductSync($since: SyncToken) { productChanges(since: $since, first: 500) { updated { id name price { amount currency } updatedAt } deletedIds syncToken hasMore } }';
        let since: string | null = null;
        for (;;) {
          const page = JSON.parse((await answer(bff.graphqlUrl, { method: 'POST', headers: json, body: JSON.stringify({ query: syncQuery, variables: { since } }) })).text) as { data?: { productChanges: { syncToken: string; hasMore: boolean } }; errors?: unknown };
          if (!page.data?.productChanges) throw new FailedRun(`S7 full sync: ${JSON.stringify(page).slice(0, 300)}`);
          since = page.data.productChanges.syncToken;
          if (!page.data.productChanges.hasMore) break;
        }
        const noChange = await wireBytes(bff.graphqlUrl, { headers: json, body: JSON.stringify({ query: syncQuery, variables: { since } }) });
        const parsed = JSON.parse(noChange.text ?? '{}') as { data?: { productChanges?: { updated: unknown[]; deletedIds: unknown[] } } };
        if (noChange.status !== 200 || parsed.data?.productChanges?.updated.length !== 0 || parsed.data.productChanges.deletedIds.length !== 0) throw new FailedRun(`S7 no-change sync: ${noChange.status} ${noChange.text}`);
        report.wire.noChangeSync = noChange;
        const byHashGet = (encoding?: string) => wireBytes(r.getUrl, { method: 'GET', headers: { ...getHeaders, ...(encoding ? { 'accept-encoding': encoding } : {}) } });
        const encodings: Record<string, WireBytes> = { identity: await byHashGet(), gzip: await byHashGet('gzip'), br: await byHashGet('br') };
        for (const [name, w] of Object.entries(encodings)) if (w.status !== 200 || (name !== 'identity' && w.contentEncoding !== name)) throw new FailedRun(`S7 S2 with ${name}: HTTP ${w.status}, content-encoding ${w.contentEncoding}`);
        report.wire.orderList = encodings;
      }

    }

    // The baselines on the server core, each checked to answer the BFF's bytes.
    const peerEnv = { USERS_URL: serviceUrls.users!, CATALOG_URL: serviceUrls.catalog!, ORDERS_URL: serviceUrls.orders!, NOTIFICATIONS_URL: serviceUrls.notifications! };
    const startPeer = (name: string, script: string, args: string[] = []) => startNode(script, args, { name, core: SERVER_CORE, env: peerEnv, ready: /^\{"url":"([^"]+)"\}$/m, nodeArgs: [...(process.env.BENCH_PEER_NODE_ARGS ? process.env.BENCH_PEER_NODE_ARGS.split(' ') : []), ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [])] });
    const measured = (server: ServerId) => HTTP_SERVERS[server].scenarios.filter((scenario) => measures(server, scenario));
    for (const [server, script] of [
      ['yoga', 'dist/bench/servers/stockYoga.js'],
      ['mercurius', 'dist/bench/servers/mercurius.js'],
    ] as const) {
      if (!measured(server).length) continue;
      const { running, match: ready } = await startPeer(server, script);
      children.push(running);
      await checkSameAnswers(server, ready[1]!);
      for (const scenario of measured(server)) run(scenario, server, ready[1]!, running.pid);
    }
    // The BFF again with one setting changed: the response cache on (its own row), FAST_PATHS=off (the ablation).
    for (const [server, name, env] of [
      ['bffCache', 'bff-response-cache', { RESPONSE_CACHE: 'on' }],
      ['ablation', 'bff-fast-paths-off', { FAST_PATHS: 'off', RESPONSE_CACHE: 'off' }],
    ] as const) {
      if (!measured(server).length) continue;
      const bff = await startBff(name, serviceUrls, env);
      children.push(bff.running);
      await checkSameAnswers(server, bff.graphqlUrl);
      for (const scenario of measured(server)) run(scenario, server, bff.graphqlUrl, bff.running.pid);
    }
    // The ceiling: node:http answering each scenario's bytes, started once per scenario.
    for (const scenario of measured('ceiling')) {
      const bodyFile = join(mkdtempSync(join(tmpdir(), 'mobile-bff-bench-')), `${scenario}.json`);
      writeFileSync(bodyFile, reference[scenario]!.text);
      const { running, match: ready } = await startPeer(`bare-${scenario}`, 'dist/bench/servers/bare.js', [bodyFile, reference[scenario]!.contentType]);
      children.push(running);
      run(scenario, 'ceiling', ready[1]!, running.pid);
    }

    // The latency floor: node:http making S3's downstream calls, then answering its bytes.
    if (measured('floor').includes('S3')) {
      if (s3Calls.length !== 3) throw new FailedRun(`S3 made ${s3Calls.length} downstream calls, not 3: ${JSON.stringify(s3Calls).slice(0, 300)}`);
      const dir = mkdtempSync(join(tmpdir(), 'mobile-bff-bench-'));
      writeFileSync(join(dir, 'S3.json'), reference.S3!.text);
      writeFileSync(join(dir, 'calls.json'), JSON.stringify(s3Calls));
      const { running, match: ready } = await startPeer('floor-S3', 'dist/bench/servers/bareDownstream.js', [join(dir, 'S3.json'), reference.S3!.contentType, join(dir, 'calls.json')]);
      children.push(running);
      await checkSameAnswers('floor', ready[1]!);
      // Paced at the BFF's rate: the floor of the BFF's own latency at its half saturation.
      run('S3', 'floor', ready[1]!, running.pid, slots.find((slot) => slot.scenario === 'S3' && slot.server === 'bff'));
    }

    if (slots.length) {
      log('HTTP comparison (S1–S3, S8)…');
      await measureAll();
    }
    // Every server of the comparison stops before S6, which needs the server core to itself.
    await stopAll();

    // S6: subscribers and fan-out, on the whole system in one process (npm start's embedded
    // topology), so that an order change reaches the subscribers through the real bus.
    if (wants('S6')) {
      const port = await freePort();
      const { running, match: ready } = await startNode('dist/bench/servers/embedded.js', [], {
        name: 'bff-embedded',
        core: SERVER_CORE,
        ready: /^(\{"graphql".*\})$/m,
        nodeArgs: [...startScriptNodeFlags(), '--expose-gc', '--import', join(root, 'dist/bench/servers/gcOnSignal.js'), ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-name=bff-embedded.cpuprofile'] : [])],
        // WS_MAX_SOCKETS_PER_CLIENT=0: S6's thousands of sockets all belong to one user.
        env: { NODE_ENV: 'development', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: 'memory://', RATE_LIMIT_PER_SECOND: '0', OVERLOAD_EVENT_LOOP_DELAY_MS: '0', WS_MAX_SOCKETS_PER_CLIENT: '0', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' },
      });
      children.push(running);
      const { graphql, services } = JSON.parse(ready[1]!) as { graphql: string; services: Record<string, string> };
      const post = async (body: unknown) => {
        const got = await answer(graphql, { method: 'POST', headers: authed, body: JSON.stringify(body) });
        const parsed = JSON.parse(got.text) as { data?: any; errors?: unknown[] };
        if (got.status !== 200 || parsed.errors?.length) throw new FailedRun(`S6 set-up: HTTP ${got.status} ${got.text.slice(0, 300)}`);
        return parsed.data;
      };
      const { viewer } = await post({ query: '{ viewer { orders(first: 1) { edges { node { number } } } } }' });
      const orderNumber = viewer.orders.edges[0].node.number as number;
      const operation = firstPartyOperation('OrderEvents');
      // Subscribed from now on, as an app does when a screen opens: identical subscriptions of one
      // viewer share one stream (the schema has no broadcast subscription; one user's 10,000
      // subscriptions are what makes one change an event for all of them).
      const subscribe = JSON.stringify({ id: '1', type: 'subscribe', payload: { operationName: 'OrderEvents', variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } } } });
      const metricsUrl = graphql.replace(/\/graphql$/, '/metrics');
      const statuses = ['SHIPPED', 'DELIVERED'];
      let lastFrame: string | undefined;
      for (const subscribers of S6_COUNTS) {
        log(`  S6 ${subscribers} graphql-ws subscribers, ${S6_EVENTS} events to all…`);
        const result: FanOutResult = await measureFanOut(
          {
            server: 'bff',
            wsUrl: graphql.replace(/^http/, 'ws'),
            pid: running.pid,
            authorization,
            subscribe,
            live: async (opened) => {
              const deadline = Date.now() + 60_000;
              while ((await sharedSubscribersOf(metricsUrl)) < opened) {
                if (Date.now() > deadline) throw new FailedRun(`S6: ${opened} subscriptions were not all live within 60 s`);
                await new Promise((r) => setTimeout(r, 20));
              }
            },
            trigger: async (e) => {
              const started = performance.now();
              const response = await fetch(`${services.orders}/orders/${orderNumber}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: statuses[e % 2] }) });
              if (!response.ok) throw new FailedRun(`S6: changing order ${orderNumber} answered HTTP ${response.status}: ${await response.text()}`);
              return started;
            },
            check: (data, e) => checkOrderEvent(data, orderNumber, statuses[e % 2]!),
            heap: () => heapOf(metricsUrl),
          },
          { subscribers, events: S6_EVENTS },
        );
        lastFrame = result.lastFrame;
        report.fanOut.push(result);
        log(`    ${(result.rssPerSubscriber / 1024).toFixed(1)} KB RSS, ${((result.heapPerSubscriber ?? 0) / 1024).toFixed(1)} KB heap per subscriber; fan-out p50 ${result.p50.toFixed(1)} p99 ${result.p99.toFixed(1)} ms`);
      }
      await running.stop();
      children.splice(children.indexOf(running), 1);
      // The ceiling: the same frames from a bare ws server.
      if (lastFrame) {
        const payload = lastFrame.slice(lastFrame.indexOf('"payload":') + '"payload":'.length, -1);
        const payloadFile = join(mkdtempSync(join(tmpdir(), 'mobile-bff-bench-')), 'event.json');
        writeFileSync(payloadFile, payload);
        const bare = await startNode('dist/bench/servers/bareWs.js', [payloadFile], { name: 'bare-ws', core: SERVER_CORE, ready: /^\{"url":"([^"]+)"\}$/m, nodeArgs: ['--expose-gc', '--import', join(root, 'dist/bench/servers/gcOnSignal.js')] });
        children.push(bare.running);
        const url = bare.match[1]!;
        for (const subscribers of S6_COUNTS) {
          log(`  S6 ceiling: ${subscribers} subscribers of a bare ws server…`);
          const result = await measureFanOut(
            {
              server: 'bare ws',
              wsUrl: url.replace(/^http/, 'ws'),
              pid: bare.running.pid,
              authorization,
              subscribe,
              live: async () => {},
              trigger: async () => {
                const started = performance.now();
                await fetch(url.replace(/\/graphql$/, '/broadcast'), { method: 'POST' });
                return started;
              },
              check: (data) => (data === lastFrame ? undefined : `a frame other than the BFF's: ${data.slice(0, 200)}`),
            },
            { subscribers, events: S6_EVENTS },
          );
          report.fanOut.push(result);
          log(`    fan-out p50 ${result.p50.toFixed(1)} p99 ${result.p99.toFixed(1)} ms`);
        }
        await bare.running.stop();
        children.splice(children.indexOf(bare.running), 1);
      }
    }

  } finally {
    await stopAll();
  }

  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAtEnd = readFileSync('/proc/loadavg', 'utf8').trim();
  writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(renderReport(report));
}

main().catch((error: unknown) => {
  log(error instanceof FailedRun ? `FAILED RUN: ${error.message}` : String((error as Error)?.stack ?? error));
  process.exit(1);
});

