import { readFileSync } from 'node:fs';

// `node dist/bench/profileShares.js <file.cpuprofile> [skip seconds]`: a V8 CPU profile's busy
// time (idle excluded, and the first `skip` seconds: start-up), by what the BFF's request spends it
// on. Each sample goes to the first category that matches walking up from the sampled function,
// so a socket write made by undici counts as a socket write, and JSON.parse inside the downstream
// client as the downstream parse. Prints a markdown table. For `npm run bench -- --profile`'s
// `bench/results/profiles/bff.cpuprofile`.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const CATEGORIES: [string, (frame: ProfileNode['callFrame']) => boolean][] = [
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['access log (pino, sonic-boom, the batcher)', (f) => /node_modules\/(pino|sonic-boom)|logging\/createLogger/.test(f.url)],
  ['metrics (prom-client)', (f) => /prom-client/.test(f.url)],
  ['circuit breaker (opossum)', (f) => /opossum/.test(f.url)],
  ['socket writes (answers and downstream requests), node:http, net, streams', (f) => /^(writev|writeLatin1String|writeUtf8String)$/.test(f.functionName) || /^node:(_http|net$|internal\/stream|internal\/streams|stream)/.test(f.url)],
  ['serializing the result (JSON.stringify)', (f) => /jsonStringifyResultWithoutInternals/.test(f.functionName)],
  ['parsing downstream JSON', (f) => f.functionName === 'parseChunks'],
  ['execution (graphql-jit generated code and runtime)', (f) => /graphql-jit/.test(f.url) || (!f.url && /__field|MapItemHandler|^query_/.test(f.functionName))],
  ['resolvers, DataLoaders, connections, ids', (f) => /dist\/src\/bff\/(resolvers|loaders|connections|ids)|auth\/ensureViewerProfile|node_modules\/dataloader/.test(f.url)],
  ['downstream client (undici, llhttp, deadlines, retries)', (f) => /undici|createDownstreamClient|createCircuitBreakers/.test(f.url) || f.url.startsWith('wasm://')],
  ['response cache', (f) => /responseCache|usePersistedResponseCache/.test(f.url)],
  ["the BFF's request handling (by-hash lane, HTTP server, gates, auth, plugins)", (f) => /dist\/src\//.test(f.url)],
  ['yoga, envelop, whatwg-node, graphql-js', (f) => /graphql-yoga|@envelop|@whatwg-node|@graphql-tools|node_modules\/graphql\//.test(f.url)],
];

const [file, skip = '16'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profileShares.js <file.cpuprofile> [skip seconds]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parents = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
const shares = new Map<string, number>();
let busy = 0;
let at = profile.startTime;
const from = profile.startTime + Number(skip) * 1e6;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i]!;
  const leaf = nodes.get(profile.samples[i]!)!;
  if (at < from || leaf.callFrame.functionName === '(idle)') continue;
  const micros = profile.timeDeltas[i + 1] ?? 0;
  busy += micros;
  let category = 'other (microtasks, timers, V8 and node internals)';
  for (let id: number | undefined = leaf.id; id !== undefined; id = parents.get(id)) {
    const found = CATEGORIES.find(([, matches]) => matches(nodes.get(id!)!.callFrame));
    if (found) {
      category = found[0];
      break;
    }
  }
  shares.set(category, (shares.get(category) ?? 0) + micros);
}
process.stdout.write(`${file}: ${(busy / 1e6).toFixed(2)} s busy after the first ${skip} s\n\n| share of the busy main thread | |\n| --- | ---: |\n`);
for (const [category, micros] of [...shares].sort((a, b) => b[1] - a[1])) process.stdout.write(`| ${category} | ${((100 * micros) / busy).toFixed(1)}% |\n`);
