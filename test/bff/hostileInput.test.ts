import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { signDevToken } from '../../src/auth/index.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Hostile or careless input is refused early, with a clear error and a design.md §9 code, and
// the process keeps serving. The defaults of the limits are the ones under test here.

/** Traces of server internals that must never reach a client. */
function expectNoInternals(text: string) {
  expect(text).not.toContain('originalError');
  expect(text).not.toMatch(/stack/i);
  expect(text).not.toMatch(/\bat [^"]*\(?[^"\s]+:\d+:\d+\)?/);
  expect(text).not.toMatch(/\.(ts|js):\d+/);
}

/** Sends `raw` bytes to the server of `url` on a fresh connection and resolves with what it answers (until it closes or 2 s pass idle). */
function rawExchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    socket.setEncoding('utf8');
    socket.setTimeout(2_000, () => socket.end());
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
}

describe('document limits (development mode: free-form text runs)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem();
  });
  afterAll(() => system?.stop());

  /** Sends `query`, expects a 400 refusal with BAD_USER_INPUT and a message matching `message`, and no downstream call. */
  async function expectRefused(query: string, message: RegExp) {
    let response: Awaited<ReturnType<typeof post>> | undefined;
    const calls = await system.countCalls(async () => {
      response = await post(system.url, JSON.stringify({ query }), { authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` });
    });
    expect(response!.status).toBe(400);
    expect(response!.body.data).toBeUndefined();
    expect(response!.body.errors).toHaveLength(1);
    expect(response!.body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response!.body.errors![0]!.message).toMatch(message);
    expectNoInternals(response!.text);
    expect(calls).toEqual({ users: {}, catalog: {}, orders: {}, notifications: {} });
  }

  it('refuses a query deeper than 12 levels before running it', async () => {
    let nested = 'name';
    for (let i = 0; i < 3; i++) nested = `orders { edges { node { customer { ${nested} } } } }`;
    await expectRefused(`{ viewer { ${nested} } }`, /^Query depth limit of 12 exceeded, found 14\.$/);
  });

  it('refuses more than 20 aliases (an alias flood)', async () => {
    const fields = Array.from({ length: 200 }, (_, i) => `p${i}: product(id: "x") { name }`).join(' ');
    await expectRefused(`{ ${fields} }`, /^Aliases limit of 20 exceeded, found 200\.$/);
  });

  it('refuses more than 20 directives', async () => {
    const fields = Array.from({ length: 30 }, () => '__typename @include(if: true)').join(' ');
    await expectRefused(`{ ${fields} }`, /^Directives limit of 20 exceeded, found 30\.$/);
  });

  it('refuses a document of more than 3000 tokens while parsing it', async () => {
    await expectRefused(`{ ${'__typename '.repeat(5000)} }`, /^The document has more than 3000 tokens\.$/);
  });

  it('refuses a query whose cost (lists nested in lists) is over 20000', async () => {
    await expectRefused(
      '{ viewer { orders(first: 100) { edges { node { customer { orders(first: 100) { edges { node { number } } } } } } } } }',
      /^Query Cost limit of 20000 exceeded, found \d+/,
    );
  });

  it('still runs an ordinary screen query within every limit', async () => {
    const { body } = await system.gql(
      '{ viewer { orders(first: 50) { edges { node { number status customer { name } lines { quantity product { name } } total { amount currency } } } } } }',
      {},
      { as: 'demo' },
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.orders.edges).toHaveLength(50);
  });

  it('refuses a JSON array of operations (batching is off) with 400 and BAD_USER_INPUT', async () => {
    const { status, body, text } = await post(system.url, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
    expect(status).toBe(400);
    expect(body.errors).toEqual([{ message: 'Batching is not supported.', extensions: { code: 'BAD_USER_INPUT' } }]);
    expectNoInternals(text);
  });

  it('refuses a body over 100 KiB with 413 and BAD_USER_INPUT', async () => {
    const padding = 'x'.repeat(1024 * 1024);
    const { status, body, text } = await post(system.url, JSON.stringify({ query: '{ __typename }', variables: { padding } }));
    expect(status).toBe(413);
    expect(body.errors).toEqual([{ message: 'Request body too large', extensions: { code: 'BAD_USER_INPUT' } }]);
    expectNoInternals(text);
  });

  it('refuses a chunked body (no Content-Length) over 100 KiB with 413 and BAD_USER_INPUT, counting it as it is read', async () => {
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(system.url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write('{"query":"{ __typename }","variables":{"padding":"');
      // 1 MiB in 64 KiB chunks; the server may answer (and stop reading) before the last one.
      const chunk = 'x'.repeat(64 * 1024);
      let left = 16;
      const next = () => {
        if (left-- === 0) return void req.end('"}}');
        if (req.write(chunk)) setImmediate(next);
        else req.once('drain', next);
      };
      next();
    });
    expect(status).toBe(413);
    expect(JSON.parse(text).errors).toEqual([{ message: 'Request body too large', extensions: { code: 'BAD_USER_INPUT' } }]);
    expectNoInternals(text);
  });

  it('refuses an invalid Content-Length with 400', async () => {
    const answer = await rawExchange(system.url, 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1,1\r\n\r\n{}');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expectNoInternals(answer);
  });

  it('is alive after all of that: /health answers 200 and a query runs', async () => {
    expect((await fetch(system.url.replace(/\/graphql$/, '/health'))).status).toBe(200);
    const { body } = await system.gql('{ products(first: 1) { edges { node { name } } } }');
    expect(body.errors).toBeUndefined();
  });
});

describe('batching when configured (BATCH_LIMIT=2)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ BATCH_LIMIT: '2' });
  });
  afterAll(() => system?.stop());

  it('answers a JSON array of two operations with an array of two results', async () => {
    const { status, body } = await post(system.url, JSON.stringify([{ query: '{ __typename }' }, { query: '{ products(first: 1) { edges { node { sku } } } }' }]));
    expect(status).toBe(200);
    expect(body).toEqual([{ data: { __typename: 'Query' } }, { data: { products: { edges: [{ node: { sku: expect.any(String) } }] } } }]);
  });

  it('refuses a batch over the limit with 413 and BAD_USER_INPUT', async () => {
    const { status, body } = await post(system.url, JSON.stringify([1, 2, 3].map(() => ({ query: '{ __typename }' }))));
    expect(status).toBe(413);
    expect(body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('per-client rate limit (RATE_LIMIT_PER_SECOND=1, RATE_LIMIT_BURST=3)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
  });
  afterAll(() => system?.stop());

  const query = JSON.stringify({ query: '{ __typename }' });
  const as = async (sub: string) => ({ authorization: `Bearer ${await signDevToken({ sub })}` });

  it('answers 429 RATE_LIMITED with Retry-After once a client spent its burst', async () => {
    const headers = await as(`rl-${randomUUID()}`);
    for (let i = 0; i < 3; i++) expect((await post(system.url, query, headers)).status).toBe(200);
    const limited = await post(system.url, query, headers);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(limited.body.data).toBeUndefined();
    expect(limited.body.errors![0]).toMatchObject({ message: expect.stringMatching(/^Too many requests: retry after \d+ s\.$/), extensions: { code: 'RATE_LIMITED' } });
    expectNoInternals(limited.text);
  });

  it('counts per token subject: another user is not limited by the first one’s requests', async () => {
    const first = await as(`rl-${randomUUID()}`);
    for (let i = 0; i < 4; i++) await post(system.url, query, first);
    expect((await post(system.url, query, first)).status).toBe(429);
    expect((await post(system.url, query, await as(`rl-${randomUUID()}`))).status).toBe(200);
  });

  it('counts anonymous requests per client IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(system.url, query)).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.at(-1)).toBe(429);
  });

  it('allows the client again after Retry-After', async () => {
    const headers = await as(`rl-${randomUUID()}`);
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 4; i++) limited = await post(system.url, query, headers);
    expect(limited!.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(limited!.headers.get('retry-after')) * 1000));
    expect((await post(system.url, query, headers)).status).toBe(200);
  });

  it('never limits /health or /metrics', async () => {
    for (let i = 0; i < 10; i++) expect((await fetch(system.url.replace(/\/graphql$/, '/health'))).status).toBe(200);
  });
});

// CI's second pass sets REDIS_URL: the limit is then one for all instances together.
const withRedis = process.env.REDIS_URL ? describe : describe.skip;

withRedis('per-client rate limit in Redis (REDIS_URL): shared by every instance', () => {
  let one: TestSystem;
  let two: TestSystem;
  beforeAll(async () => {
    const env = { REDIS_URL: process.env.REDIS_URL!, RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' };
    one = await startTestSystem(env);
    two = await startTestSystem(env);
  });
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
  });

  it('refuses with 429 on one instance a client that spent its burst on another', async () => {
    const headers = { authorization: `Bearer ${await signDevToken({ sub: `rl-redis-${randomUUID()}` })}` };
    const query = JSON.stringify({ query: '{ __typename }' });
    for (let i = 0; i < 3; i++) expect((await post(one.url, query, headers)).status).toBe(200);
    const limited = await post(two.url, query, headers);
    expect(limited.status).toBe(429);
    expect(limited.body.errors![0]!.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
