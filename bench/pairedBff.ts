import { signDevToken } from '../src/auth/index.js';
import { freePort } from '../src/util/freePort.js';
import { firstPartyOperation, requestsFor } from './lib/operations.js';
import { comparePaired, sameAnswer, withDownstream, type PairedServer } from './lib/paired.js';
import { bffBenchEnv, SERVER_CORE, startNode, startScriptNodeFlags } from './lib/processes.js';

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

await withDownstream(async (urls, children) => {
  const servers: PairedServer[] = [];
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
  await comparePaired([servers[0]!, servers[1]!], { headers, body, expectBody: await sameAnswer(servers, headers, body) }, { rounds, seconds, label: scenario });
});
