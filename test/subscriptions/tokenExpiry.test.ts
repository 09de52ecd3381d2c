import { randomUUID } from 'node:crypto';
import { signDevToken } from '../../src/auth/index.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Every subscription ends with its token, on every transport: a WebSocket is closed with 4403 at
// the token's exp (webSocketLimits.test.ts); an SSE stream gets a last UNAUTHENTICATED error and
// ends, so that the app refreshes its token and subscribes again from its last sync token.
let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system?.stop());

const ORDER_EVENTS = 'subscription { orderEvents { order { number } syncToken } }';

/** Reads an SSE response to its end (or until `ms`); resolves with its events. */
async function readEvents(response: Response, ms: number) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const timer = setTimeout(() => void reader.cancel(), ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('event:'))
    .map((block) => {
      const [, event] = /^event: (\w+)/.exec(block)!;
      const data = /\ndata: (.*)/.exec(block)?.[1];
      return { event, data: data ? JSON.parse(data) : undefined };
    });
}

describe('a subscription over SSE', () => {
  it("ends at its token's exp with an UNAUTHENTICATED error, then complete", async () => {
    const sub = `sse-exp-${randomUUID()}`;
    await system.gql('{ viewer { id } }', {}, { as: sub });
    const exp = Math.floor(Date.now() / 1000) + 2;
    const response = await fetch(system.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub, expiresIn: exp })}` },
      body: JSON.stringify({ query: ORDER_EVENTS }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    // Without an end at exp the stream stays open: the reader gives up after 20 s and the test fails.
    const events = await readEvents(response, 20_000);
    expect(events.at(-1)).toEqual({ event: 'complete', data: undefined });
    expect(events.at(-2)).toEqual({
      event: 'next',
      data: { errors: [{ message: 'The token has expired: refresh it and subscribe again from the last sync token.', extensions: { code: 'UNAUTHENTICATED' } }] },
    });
  });

  it('ends its stream at once when the client goes away before exp (the stream does not wait for exp)', async () => {
    const sub = `sse-gone-${randomUUID()}`;
    await system.gql('{ viewer { id } }', {}, { as: sub });
    const before = await streamsOpen();
    const controller = new AbortController();
    const response = await fetch(system.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await signDevToken({ sub, expiresIn: '1h' })}` },
      body: JSON.stringify({ query: ORDER_EVENTS }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    await eventually(async () => (await streamsOpen()) === before + 1);
    controller.abort();
    await eventually(async () => (await streamsOpen()) === before);
  });
});

async function streamsOpen(): Promise<number> {
  const text = await (await fetch(system.bff.metricsUrl)).text();
  return Number(/^bff_subscription_streams\{field="orderEvents"\} (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** Polls `predicate` until it holds, or fails after `ms`. */
async function eventually(predicate: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
