import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

// The fan-out ceiling: a bare `ws` server speaking just enough graphql-transport-ws (ack every
// `connection_init`, remember every `subscribe`), that on `POST /broadcast` writes the same
// `next` payload the BFF sends for an S6 event to every subscriber, with its own id, as the
// BFF's shared streams do. What one core can do with 10,000 sockets, without GraphQL.
// argv: <payload file>. Prints `{"url":"http://..."}` once listening.

const payload = readFileSync(process.argv[2]!, 'utf8');
const subscribers: { socket: WebSocket; frameStart: string }[] = [];
const server = createServer((req, res) => {
  req.resume();
  if (req.method === 'POST' && req.url === '/broadcast') {
    for (const { socket, frameStart } of subscribers) if (socket.readyState === WebSocket.OPEN) socket.send(`${frameStart}${payload}}`);
    res.writeHead(204).end();
    return;
  }
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: 64 * 1024 });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'subscribe') subscribers.push({ socket, frameStart: `{"id":${JSON.stringify(message.id)},"type":"next","payload":` });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
