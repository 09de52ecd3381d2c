import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

// The latency floor of a request that waits on downstream: a bare node:http server that, for
// every request, makes the same downstream calls as the BFF made for that scenario's request, one
// after another as the BFF does (the viewer's profile, then the orders page, then the products), to
// the same proxies with undici, reads each answer whole, then answers the BFF's bytes. No GraphQL,
// no parsing, no features: what is left of its p99 is the machine's (the load generator, the
// downstream process and the network on their shared core), which no server can go below.
// argv: <body file> <content type> <calls file: [{url, method, body}]>. Prints `{"url":"http://..."}`.

const [bodyFile, contentType, callsFile] = process.argv.slice(2);
const body = readFileSync(bodyFile!);
const calls = JSON.parse(readFileSync(callsFile!, 'utf8')) as { url: string; method: 'GET' | 'POST'; body: string }[];
const headers = { 'content-type': 'application/json', accept: 'application/json' };

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    void (async () => {
      for (const call of calls) {
        const answer = await request(call.url, { method: call.method, headers, body: call.method === 'GET' ? undefined : call.body });
        await answer.body.arrayBuffer();
      }
      res.writeHead(200, { 'content-type': contentType!, 'content-length': body.length });
      res.end(body);
    })().catch((error: unknown) => res.writeHead(502).end(String(error)));
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
