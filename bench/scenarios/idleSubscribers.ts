import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export interface IdleSocketsResult {
  sockets: number;
  /** Resident set size added per socket, in bytes. */
  rssPerSocket: number;
  /** V8 heap used added per socket, in bytes (from the BFF's /metrics). */
  heapPerSocket: number;
  /** How long opening and authenticating them all took, in ms. */
  connectMs: number;
}

/** Asks the BFF (started with `gcOnSignal`) for a full collection, then lets it finish. */
async function collect(pid: number) {
  for (let i = 0; i < 2; i++) {
    process.kill(pid, 'SIGUSR2');
    await sleep(500);
  }
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function heapOf(metricsUrl: string) {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)![1]);
}

/** Opens one graphql-ws socket and authenticates it (`connection_init` with the bearer token); resolves on `connection_ack`. */
function openSocket(url: string, authorization: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: authorization } })));
    socket.once('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') resolve(socket);
      else reject(new Error(`expected connection_ack, got ${String(data)}`));
    });
    socket.once('close', (code) => reject(new Error(`socket closed with ${code} before connection_ack`)));
    socket.once('error', reject);
  });
}

/**
 * S6 (what can be measured before `Subscription.orderEvents` exists): the BFF's memory per idle,
 * authenticated graphql-ws socket. Opens `count` sockets in waves, lets the server settle, and
 * divides the growth of its RSS and V8 heap, each measured after a full collection, by the count. Every socket must be acknowledged.
 */
export async function measureIdleSockets({ wsUrl, metricsUrl, pid, authorization, count, wave = 250 }: { wsUrl: string; metricsUrl: string; pid: number; authorization: string; count: number; wave?: number }): Promise<IdleSocketsResult> {
  await collect(pid);
  const rssBefore = rssOf(pid);
  const heapBefore = await heapOf(metricsUrl);
  const sockets: WebSocket[] = [];
  const started = performance.now();
  try {
    while (sockets.length < count) {
      const n = Math.min(wave, count - sockets.length);
      sockets.push(...(await Promise.all(Array.from({ length: n }, () => openSocket(wsUrl, authorization)))));
    }
    const connectMs = performance.now() - started;
    await sleep(1000);
    await collect(pid);
    const open = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
    if (open !== count) throw new Error(`${count - open} of ${count} sockets closed while idle`);
    const rssAfter = rssOf(pid);
    const heapAfter = await heapOf(metricsUrl);
    return { sockets: count, rssPerSocket: (rssAfter - rssBefore) / count, heapPerSocket: (heapAfter - heapBefore) / count, connectMs };
  } finally {
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.readyState === WebSocket.CLOSED) return resolve();
            s.once('close', () => resolve());
            s.close(1000);
          }),
      ),
    );
  }
}
