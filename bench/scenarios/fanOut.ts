import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { FailedRun } from '../lib/load.js';

export interface FanOutResult {
  /** `bff`, or `bare ws` (the ceiling: the same frames from a bare ws server). */
  server: string;
  subscribers: number;
  /** Resident set size added per live subscriber (socket + subscription), in bytes. */
  rssPerSubscriber: number;
  /** V8 heap used added per live subscriber, in bytes (from the BFF's /metrics; not for the ceiling). */
  heapPerSubscriber?: number;
  /** How long opening, authenticating and subscribing them all took, in ms. */
  subscribeMs: number;
  /** Events measured (each delivered to every subscriber). */
  events: number;
  /** From the order change request to each subscriber's `next`, all events pooled, in ms. */
  p50: number;
  p99: number;
  max: number;
  /** p99 of each event on its own, in ms. */
  p99PerEvent: number[];
  /** From the order change request to the first subscriber's `next` (median of the events), in ms. */
  first: number;
  /**
   * The fan-out alone: from each event's first `next` to each subscriber's, all events pooled, in
   * ms (p50, p99). What the server's loop and the sockets take, without the way to the first frame.
   */
  spreadP50: number;
  spreadP99: number;
  /** The last `next` frame the first subscriber received (the ceiling sends the same). */
  lastFrame: string;
}

/** Asks the server (started with `gcOnSignal`) for a full collection, then lets it finish. */
async function collect(pid: number) {
  for (let i = 0; i < 2; i++) {
    process.kill(pid, 'SIGUSR2');
    await sleep(500);
  }
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

export async function heapOf(metricsUrl: string) {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)![1]);
}

/** Subscribers of shared streams the BFF holds (`bff_subscription_shared_subscribers`). */
export async function sharedSubscribersOf(metricsUrl: string) {
  const text = await (await fetch(metricsUrl)).text();
  return Number(/^bff_subscription_shared_subscribers (\S+)$/m.exec(text)?.[1] ?? 0);
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

/** One subscriber: a graphql-ws socket with one `OrderEvents` subscription; every `next` is kept with the time it arrived. */
interface Subscriber {
  socket: WebSocket;
  /** Arrival time (performance.now()) and raw frame of each `next`, parsed only after the measurement. */
  received: { at: number; data: string }[];
  problem?: string;
}

/**
 * Opens a socket, authenticates (`connection_init` with the bearer token), waits for
 * `connection_ack`, then subscribes by hash with no query text, as Apollo Kotlin does.
 */
function subscribe(url: string, authorization: string, subscribePayload: string): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const subscriber: Subscriber = { socket, received: [] };
    let acked = false;
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: authorization } })));
    socket.on('message', (data) => {
      const at = performance.now();
      const text = String(data);
      if (acked) {
        if (text.includes('"type":"next"')) subscriber.received.push({ at, data: text });
        else subscriber.problem ??= `unexpected message: ${text.slice(0, 300)}`;
        return;
      }
      const message = JSON.parse(text) as { type: string };
      if (message.type !== 'connection_ack') return reject(new Error(`expected connection_ack, got ${text.slice(0, 300)}`));
      acked = true;
      socket.send(subscribePayload);
      resolve(subscriber);
    });
    socket.once('close', (code) => {
      if (!acked) reject(new Error(`socket closed with ${code} before connection_ack`));
      else subscriber.problem ??= `socket closed with ${code}`;
    });
    socket.once('error', reject);
  });
}

/** Waits until every subscriber holds `count` events, or fails the run after `timeoutMs`. */
async function allReceived(subscribers: Subscriber[], count: number, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = subscribers.find((s) => s.problem);
    if (problem) throw new FailedRun(`S6 ${what}: ${problem.problem}`);
    const waiting = subscribers.filter((s) => s.received.length < count).length;
    if (waiting === 0) return;
    if (Date.now() > deadline) throw new FailedRun(`S6 ${what}: ${waiting} of ${subscribers.length} subscribers did not get the event within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Checks one `next` frame: the right subscription, no errors, the changed order in its new status, with its customer and products. */
export function checkOrderEvent(data: string, number: number, status: string): string | undefined {
  const message = JSON.parse(data) as { id?: string; type?: string; payload?: { data?: any; errors?: unknown[] } };
  if (message.id !== '1') return `a next for id ${message.id}`;
  if (message.payload?.errors?.length) return `errors: ${JSON.stringify(message.payload.errors).slice(0, 300)}`;
  const event = message.payload?.data?.orderEvents;
  if (typeof event?.syncToken !== 'string') return `no syncToken: ${data.slice(0, 300)}`;
  const order = event.order;
  if (order?.number !== number || order.status !== status) return `expected order ${number} ${status}, got ${JSON.stringify(order).slice(0, 200)}`;
  if (typeof order.customer?.name !== 'string') return `an order without its customer: ${data.slice(0, 300)}`;
  if (!Array.isArray(order.lines) || !order.lines.every((l: any) => typeof l?.product?.name === 'string')) return `lines without products: ${data.slice(0, 300)}`;
  return undefined;
}

/** What S6 measures: a server with subscribers, and how to make an event happen. */
export interface FanOutTarget {
  server: string;
  wsUrl: string;
  pid: number;
  authorization: string;
  /** The `subscribe` frame every subscriber sends (id "1"). */
  subscribe: string;
  /** Resolves once the first `opened` subscriptions are live (for the BFF: their first feed read done). */
  live(opened: number): Promise<void>;
  /** Makes event `e` happen (0: the warm-up); resolves with the moment its request left. */
  trigger(e: number): Promise<number>;
  /** What is wrong with the `next` frame of event `e`, if anything. */
  check(data: string, e: number): string | undefined;
  /** The server's V8 heap in use, if it can tell. */
  heap?(): Promise<number>;
}

/**
 * S6: `subscribers` graphql-ws sockets, each with one live subscription, on one server process.
 * Memory per subscriber is the growth of the server's RSS (and V8 heap), each after a full
 * collection, divided by the count. Then each of `events` events is timed from the moment its
 * request leaves the load generator to the moment each subscriber's `next` arrives, and every
 * frame is checked. A warm-up event first reaches every subscriber (and proves each is live).
 */
export async function measureFanOut(target: FanOutTarget, { subscribers: count, events, wave = 250 }: { subscribers: number; events: number; wave?: number }): Promise<FanOutResult> {
  const { pid } = target;
  await collect(pid);
  const rssBefore = rssOf(pid);
  const heapBefore = await target.heap?.();
  const subscribers: Subscriber[] = [];
  const opened = performance.now();
  try {
    // In waves, each live before the next: for the BFF, a burst of thousands of first feed
    // reads at once would measure the embedded orders service, not the fan-out.
    while (subscribers.length < count) {
      const n = Math.min(wave, count - subscribers.length);
      subscribers.push(...(await Promise.all(Array.from({ length: n }, () => subscribe(target.wsUrl, target.authorization, target.subscribe)))));
      await target.live(subscribers.length);
    }
    const subscribeMs = performance.now() - opened;

    await target.trigger(0);
    await allReceived(subscribers, 1, 120_000, 'warm-up event');
    for (const s of subscribers) {
      const problem = target.check(s.received[0]!.data, 0);
      if (problem) throw new FailedRun(`S6 ${target.server} warm-up event: ${problem}`);
    }
    await sleep(1000);
    await collect(pid);
    const rssAfter = rssOf(pid);
    const heapAfter = await target.heap?.();

    const latencies: number[] = [];
    const spreads: number[] = [];
    const p99PerEvent: number[] = [];
    const firsts: number[] = [];
    for (let e = 1; e <= events; e++) {
      const started = await target.trigger(e);
      await allReceived(subscribers, e + 1, 60_000, `${target.server} event ${e}`);
      const these: number[] = [];
      for (const s of subscribers) {
        if (s.received.length !== e + 1) throw new FailedRun(`S6 ${target.server} event ${e}: a subscriber got ${s.received.length - e} frames for one event`);
        const { at, data } = s.received[e]!;
        const problem = target.check(data, e);
        if (problem) throw new FailedRun(`S6 ${target.server} event ${e}: ${problem}`);
        these.push(at - started);
      }
      these.sort((a, b) => a - b);
      p99PerEvent.push(quantile(these, 0.99));
      firsts.push(these[0]!);
      latencies.push(...these);
      spreads.push(...these.map((t) => t - these[0]!));
      await sleep(500);
    }
    latencies.sort((a, b) => a - b);
    spreads.sort((a, b) => a - b);
    firsts.sort((a, b) => a - b);
    const open = subscribers.filter((s) => s.socket.readyState === WebSocket.OPEN).length;
    if (open !== count) throw new FailedRun(`S6 ${target.server}: ${count - open} of ${count} sockets closed during the run`);
    return {
      server: target.server,
      subscribers: count,
      rssPerSubscriber: (rssAfter - rssBefore) / count,
      ...(heapBefore !== undefined && heapAfter !== undefined ? { heapPerSubscriber: (heapAfter - heapBefore) / count } : {}),
      subscribeMs,
      events,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies.at(-1)!,
      p99PerEvent,
      first: firsts[Math.floor(firsts.length / 2)]!,
      spreadP50: quantile(spreads, 0.5),
      spreadP99: quantile(spreads, 0.99),
      lastFrame: subscribers[0]!.received.at(-1)!.data,
    };
  } finally {
    await Promise.all(
      subscribers.map(
        ({ socket }) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.close(1000);
          }),
      ),
    );
  }
}
