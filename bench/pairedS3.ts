import { signDevToken } from '../src/auth/index.js';
import { freePort } from '../src/util/freePort.js';
import { firstPartyOperation, requestsFor } from './lib/operations.js';
import { comparePaired, cpuPerRequest, sameAnswer, withDownstream, type PairedServer } from './lib/paired.js';
import { bffBenchEnv, SERVER_CORE, startNode, startScriptNodeFlags } from './lib/processes.js';

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

await withDownstream(async (urls, children) => {
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
  const servers: [PairedServer, PairedServer] = [
    { name: 'mercurius', pid: mercurius.running.pid, url: mercurius.match[1]! },
    { name: 'bff', pid: bff.running.pid, url: `http://127.0.0.1:${port}/graphql` },
  ];

  const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${await signDevToken({ sub: 'demo', expiresIn: '2h' })}` };
  const orderList = requestsFor(servers[1].url, firstPartyOperation('OrderList'), { first: 20 });
  const requestOf = async (body: string) => ({ headers, body, expectBody: await sameAnswer(servers, headers, body) });
  const [s1, s2, s3] = [await requestOf('{"query":"{ __typename }"}'), await requestOf(orderList.text), await requestOf(orderList.byHash)];
  const before = mix
    ? async (server: PairedServer) => {
        await cpuPerRequest(server, s1, 2);
        await cpuPerRequest(server, s2, 2);
      }
    : undefined;
  await comparePaired(servers, s3, { rounds, seconds, label: `S3${mix ? ' (mixed traffic)' : ''}`, ...(before ? { before } : {}) });
});
