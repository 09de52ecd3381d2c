import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/loadConfig.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { wsClient } from '../support/wsClient.js';

// When the event loop lags past OVERLOAD_EVENT_LOOP_DELAY_MS, new requests are shed with 503 and
// Retry-After rather than queued without bound. The BFF runs in this process, so blocking this
// process's event loop is blocking the BFF's.
let system: TestSystem;
beforeAll(async () => {
  const { lifecycle } = loadConfig({});
  // A threshold far above what a busy machine's scheduling alone adds to this process's event loop
  // (a loaded CI runner or laptop), far below what the hog below causes: each of its blocks
  // outlasts a whole sample, so a lagging sample reads at least 250 ms.
  system = await startTestSystem({}, { lifecycle: { ...lifecycle, maxEventLoopDelayMs: 150, eventLoopSampleMs: 250 } });
});
afterAll(() => system?.stop());

const base = () => system.url.replace(/\/graphql$/, '');
const query = () => fetch(system.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });

/** Blocks the event loop for `blockMs` at a time, over and over, until stopped. */
function hogEventLoop(blockMs = 150) {
  const hog = setInterval(() => {
    const until = Date.now() + blockMs;
    while (Date.now() < until);
  }, 1);
  return () => clearInterval(hog);
}

async function until<T>(fn: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

it('answers /graphql normally while the event loop keeps up', async () => {
  expect((await until(query, (r) => r.status === 200)).status).toBe(200);
});

describe('while the event loop lags', () => {
  let stop: () => void;
  beforeAll(async () => {
    stop = hogEventLoop(400);
  });
  afterAll(() => stop());

  it('sheds /graphql with 503, Retry-After and RATE_LIMITED', async () => {
    const response = await until(query, (r) => r.status === 503);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    const body = (await response.json()) as { data?: unknown; errors: { message: string; extensions: { code: string } }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors).toEqual([{ message: 'The server is overloaded: retry after 1 s.', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } }]);
  });

  it('sheds /graphql/ and every other URL yoga serves as GraphQL too', async () => {
    const response = await until(() => fetch(`${base()}/graphql/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) }), (r) => r.status === 503);
    expect(response.status).toBe(503);
  });

  it('sheds an operation over WebSocket with an error RATE_LIMITED for its id', async () => {
    const client = wsClient(system.url);
    const run = () =>
      new Promise<{ data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] }>((resolve) => {
        let data: unknown;
        client.subscribe({ query: '{ __typename }' }, { next: (r) => (data = r.data), error: (e) => resolve({ errors: e as never }), complete: () => resolve({ data }) });
      });
    try {
      const shed = await until(run, (a) => a.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
      expect(shed.errors![0]!.message).toBe('The server is overloaded: retry after 1 s.');
    } finally {
      await client.dispose();
    }
  });

  it('still answers /health and /metrics', async () => {
    expect((await fetch(`${base()}/health`)).status).toBe(200);
    const metrics = await fetch(`${base()}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/bff_rejected_requests_total\{reason="overloaded"\} [1-9]/);
  });
});

it('serves again once the event loop keeps up', async () => {
  const response = await until(query, (r) => r.status === 200);
  expect(response.status).toBe(200);
});

// Every other test's system runs with load shedding off (test/support/startTestSystem.ts): on a
// busy machine the event loop of a test process lags, and the BFF must not refuse the test's own
// requests. Here the loop is blocked for longer than a whole sample at a time, so a BFF with the
// default threshold (200 ms over 1 s samples) would be overloaded at every sample.
describe('a system started with the test defaults, while the event loop lags past the default threshold', () => {
  let defaults: TestSystem;
  beforeAll(async () => {
    defaults = await startTestSystem();
  });
  afterAll(() => defaults?.stop());

  it('never sheds: load shedding is off in test systems', async () => {
    const stop = hogEventLoop(1100);
    try {
      // Each request waits out at least one block, so these span several of the monitor's samples.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        statuses.push((await fetch(defaults.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) })).status);
      }
      // The shedding system of this file, meanwhile, does shed: the lag is real.
      expect((await until(query, (r) => r.status === 503)).status).toBe(503);
      expect(statuses).toEqual([200, 200, 200, 200]);
    } finally {
      stop();
    }
  });
});
