import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The ceiling: a bare node:http server that answers every request with the same bytes as the
// BFF's S3 response (body and content type), after reading the request body as the BFF must.
// argv: <body file> <content type>. Prints `{"url":"http://..."}` once listening.

const [bodyFile, contentType] = process.argv.slice(2);
const body = readFileSync(bodyFile!);
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': contentType!, 'content-length': body.length });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
