import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { parse } from 'graphql';
import { signDevToken } from '../../src/auth/index.js';
import { createSchema } from '../../src/bff/createSchema.js';
import { createLearnedTexts, MAX_LEARNED_TEXT_LENGTH } from '../../src/bff/transport/createLearnedTexts.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Issue 15: with PERSISTED_OPERATIONS=off, a query text yoga has run once is answered by the
// lane from then on (src/bff/transport/createLearnedTexts.ts), on yoga's own executor. Its
// answers must be yoga's, byte for byte and header for header; what yoga refuses is never
// learned, and mutations, subscriptions, `@defer`, other parameters, GET and long texts stay on
// yoga. Which path answered is read from the log ("by-hash lane", debug, with the request's id).

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});
const ranOnLane = (requestId: string) => lines.some((line) => line.includes(requestId) && (JSON.parse(line) as { msg?: string }).msg === 'by-hash lane');

let system: SystemBehindProxies;
let demo: string;
beforeAll(async () => {
  system = await startSystemBehindProxies(
    { PERSISTED_OPERATIONS: 'off', RATE_LIMIT_PER_SECOND: '0', BREAKER_MIN_REQUESTS: '100000', MAX_QUERY_DEPTH: '7' },
    {},
    { logger: createLogger({ level: 'debug' }, sink) },
  );
  demo = `Bearer ${await signDevToken({ sub: 'demo' })}`;
});
afterAll(() => system?.stop());
afterEach(() => {
  system.bff.bff.byHashLane = true;
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function send(body: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'POST', path = '/graphql'): Promise<Raw & { id: string }> {
  const url = new URL(system.bff.url);
  const id = `text-${randomUUID()}`;
  return new Promise((resolve, reject) => {
    const all = { 'x-request-id': id, ...(method === 'POST' ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers };
    const req = request({ host: url.hostname, port: url.port, method, path, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ id, status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

const VOLATILE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'x-request-id']);
const comparable = (headers: Raw['headers']) => Object.fromEntries(Object.entries(headers).filter(([name]) => !VOLATILE.has(name)));

/** Sends `body` three times: once to teach the lane (yoga answers), once on the lane, once on yoga (lane off). */
async function learnedThenBoth(body: string, headers: Record<string, string> = {}) {
  const first = await send(body, headers);
  const lane = await send(body, headers);
  system.bff.bff.byHashLane = false;
  const yoga = await send(body, headers);
  system.bff.bff.byHashLane = true;
  return { first, lane, yoga };
}

function expectSameAnswer(lane: Raw, yoga: Raw) {
  expect(lane.body.toString()).toBe(yoga.body.toString());
  expect(lane.status).toBe(yoga.status);
  expect(comparable(lane.headers)).toEqual(comparable(yoga.headers));
}

const ORDERS = 'query Orders($first: Int!) { viewer { name orders(first: $first) { edges { cursor node { id number status createdAt total { amount currency } lines { quantity product { id name } } } } pageInfo { hasNextPage endCursor } } } }';
const TWO = 'query A { __typename } query B { viewer { id } }';

describe('a text yoga has run is answered by the lane, as yoga answers it', () => {
  it.each([
    ['the trivial query, anonymous', { query: '{ __typename }' }, {}],
    ['the orders screen with variables', { query: ORDERS, variables: { first: 5 } }, { authorization: 'demo' }],
    ['one of two operations, by name', { query: TWO, operationName: 'B' }, { authorization: 'demo' }],
    ['a query whose field fails (FORBIDDEN without a viewer)', { query: '{ viewer { orders(first: 1) { edges { cursor } } } }' }, {}],
    ['variables of the wrong type', { query: ORDERS, variables: { first: 'ten' } }, { authorization: 'demo' }],
    ['a missing variable', { query: ORDERS }, { authorization: 'demo' }],
    ['compressed, Apollo Kotlin Accept', { query: ORDERS, variables: { first: 20 } }, { authorization: 'demo', 'accept-encoding': 'gzip', accept: 'multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json' }],
  ])('%s', async (label, params, extra) => {
    const headers: Record<string, string> = { ...extra };
    if (headers.authorization === 'demo') headers.authorization = demo;
    // A text of its own (a comment), so that no other case has taught it already.
    const { first, lane, yoga } = await learnedThenBoth(JSON.stringify({ ...params, query: `${params.query}\n# ${label}` }), headers);
    expect(ranOnLane(first.id)).toBe(false);
    expect(ranOnLane(lane.id)).toBe(true);
    expect(ranOnLane(yoga.id)).toBe(false);
    expectSameAnswer(lane, yoga);
    expectSameAnswer(first, yoga);
  });

  it('fetches only the product fields the text reads, as for a persisted query', async () => {
    const catalog = system.proxies.catalog.received;
    const productReads = (from: number) => catalog.slice(from).map((r) => r.path).filter((path) => path.startsWith('/products?ids='));
    const body = JSON.stringify({ query: `${ORDERS}\n# projection`, variables: { first: 3 } });
    let from = catalog.length;
    const first = await send(body, { authorization: demo });
    expect(productReads(from)).toEqual([expect.not.stringContaining('fields=')]);
    from = catalog.length;
    const lane = await send(body, { authorization: demo });
    expect(ranOnLane(lane.id)).toBe(true);
    expect(productReads(from)).toEqual([expect.stringMatching(/&fields=name$/)]);
    expect(lane.body.toString()).toBe(first.body.toString());
  });

  it('keys on the exact text and the operation name', async () => {
    const two = `${TWO}\n# keys`;
    const { lane } = await learnedThenBoth(JSON.stringify({ query: two, operationName: 'A' }));
    expect(ranOnLane(lane.id)).toBe(true);
    // Another name for the same text, and the same text without a name (yoga refuses it: two operations), are yoga's.
    const other = await send(JSON.stringify({ query: two, operationName: 'B' }), { authorization: demo });
    expect(ranOnLane(other.id)).toBe(false);
    const spaced = await send(JSON.stringify({ query: `${two} `, operationName: 'A' }));
    expect(ranOnLane(spaced.id)).toBe(false);
    for (let i = 0; i < 2; i++) {
      const unnamed = await send(JSON.stringify({ query: two }));
      expect(unnamed.status).toBe(400);
      expect(ranOnLane(unnamed.id)).toBe(false);
    }
  });
});

describe('what stays on yoga', () => {
  it.each([
    ['a mutation', { query: 'mutation { updateProfile(input: { name: "Demo User" }) { user { name } } }' }],
    ['a query with @defer', { query: '{ viewer { id ... @defer { name } } }' }],
    ['a text with extensions', { query: '{ __typename }', extensions: { client: 'x' } }],
    ['a text with an unknown parameter', { query: '{ __typename }', extra: 1 }],
    ['a text over the depth limit (refused by graphql-armor)', { query: '{ viewer { orders(first: 1) { edges { node { lines { product { price { amount } } } } } } } }' }],
    ['a text that does not validate', { query: '{ viewer { nope } }' }],
    ['a text longer than the lane keeps', { query: `{ __typename }\n#${'x'.repeat(MAX_LEARNED_TEXT_LENGTH)}` }],
    ['a query with "@ defer" (spaced, as GraphQL allows)', { query: '{ viewer { id ... @ defer { name } } }' }],
  ])('%s', async (_label, params) => {
    const body = JSON.stringify(params);
    const answers = [await send(body, { authorization: demo }), await send(body, { authorization: demo }), await send(body, { authorization: demo })];
    for (const answer of answers) expect(ranOnLane(answer.id)).toBe(false);
    expect(answers[2]!.status).toBe(answers[1]!.status);
  });

  it('a text whose cost depends on its variables: priced again on every request, never learned', async () => {
    // Two page sizes given by variables: graphql-armor's cost is priced with the request's values (useOperationLimits).
    const query = 'query Pages($n: Int, $m: Int) { a: products(first: $n) { edges { node { name } } } b: products(first: $m) { edges { node { name } } } }\n# cost';
    const cheap = JSON.stringify({ query, variables: { n: 1, m: 1 } });
    for (let i = 0; i < 2; i++) {
      const answer = await send(cheap);
      expect(answer.status).toBe(200);
      expect(ranOnLane(answer.id)).toBe(false);
    }
    const costly = await send(JSON.stringify({ query, variables: { n: 100, m: 100 } }), { 'apollo-require-preflight': 'true' });
    expect(ranOnLane(costly.id)).toBe(false);
    system.bff.bff.byHashLane = false;
    const onYoga = await send(JSON.stringify({ query, variables: { n: 100, m: 100 } }));
    system.bff.bff.byHashLane = true;
    expect(costly.status).toBe(onYoga.status);
    expect(costly.body.toString()).toBe(onYoga.body.toString());
  });

  it('GET text', async () => {
    const path = `/graphql?${new URLSearchParams({ query: '{ __typename }' })}`;
    for (let i = 0; i < 3; i++) {
      const answer = await send('', { 'apollo-require-preflight': 'true' }, 'GET', path);
      expect(answer.status).toBe(200);
      expect(ranOnLane(answer.id)).toBe(false);
    }
  });
});

describe('in production with PERSISTED_OPERATIONS=off', () => {
  // Started in a hook (the hooks' longer timeout: a busy machine boots PGlite slowly).
  let production: TestSystem;
  beforeAll(async () => {
    production = await startTestSystem({ PERSISTED_OPERATIONS: 'off' }, { nodeEnv: 'production' }, { logger: createLogger({ level: 'debug' }, sink) });
  });
  afterAll(() => production?.stop());

  it('refuses introspection every time (never learned), and serves other texts on the lane', async () => {
    const post = async (query: string) => {
      const id = `prod-${randomUUID()}`;
      const response = await fetch(production.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': id }, body: JSON.stringify({ query }) });
      return { id, status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
    };
    for (let i = 0; i < 3; i++) {
      const refused = await post('{ __schema { types { name } } }');
      expect(refused.status).toBe(400);
      expect(refused.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(ranOnLane(refused.id)).toBe(false);
    }
    const answers = [await post('{ __typename }'), await post('{ __typename }')];
    expect(answers.map((a) => a.body)).toEqual([{ data: { __typename: 'Query' } }, { data: { __typename: 'Query' } }]);
    expect(answers.map((a) => ranOnLane(a.id))).toEqual([false, true]);
  });
});

describe('createLearnedTexts', () => {
  const schema = createSchema();
  const learnFrom = (texts: ReturnType<typeof createLearnedTexts>, query: string, params: Record<string, unknown> = {}, method = 'POST') =>
    (texts.plugin() as { onExecute: (payload: unknown) => void }).onExecute({ args: { document: parse(query), contextValue: { params: { query, ...params }, request: { method } } } });

  it('keeps at most `max` texts, the least recently used dropped first', async () => {
    const texts = createLearnedTexts({ schema, max: 2 });
    learnFrom(texts, '{ __typename }');
    learnFrom(texts, '{ viewer { id } }');
    const runner = texts.runnerFor('{ __typename }', undefined);
    expect(runner).toBeDefined();
    expect(await runner!({}, undefined)).toEqual({ data: { __typename: 'Query' } });
    learnFrom(texts, '{ viewer { name } }');
    expect(texts.size).toBe(2);
    // `{ viewer { id } }` was the least recently used.
    expect(texts.runnerFor('{ viewer { id } }', undefined)).toBeUndefined();
    expect(texts.runnerFor('{ __typename }', undefined)).toBe(runner);
    expect(texts.runnerFor('{ viewer { name } }', undefined)).toBeDefined();
  });

  it('learns only queries by POST, without extensions or @defer, with no operation name or a non-empty one', () => {
    const texts = createLearnedTexts({ schema });
    learnFrom(texts, 'mutation M { updateProfile(input: { name: "x" }) { user { name } } }', { operationName: 'M' });
    learnFrom(texts, '{ __typename }', {}, 'GET');
    learnFrom(texts, '{ viewer { id } }', { extensions: {} });
    learnFrom(texts, '{ viewer { name } }', { operationName: '' });
    learnFrom(texts, '{ viewer { id ... @defer { name } } }');
    learnFrom(texts, '{ viewer { id ... @ defer { name } } }');
    learnFrom(texts, 'query P($n: Int, $m: Int) { a: products(first: $n) { edges { cursor } } b: products(first: $m) { edges { cursor } } }', { operationName: 'P' });
    expect(texts.size).toBe(0);
    // One page size given by a variable is bounded by its field's maximum: its cost does not depend on it.
    learnFrom(texts, 'query Q($n: Int) { products(first: $n) { edges { cursor } } }', { operationName: 'Q' });
    expect(texts.size).toBe(1);
  });

  it('keeps at most `maxTotalLength` characters of text', () => {
    const texts = createLearnedTexts({ schema, maxTotalLength: 60 });
    const a = '{ __typename }                         # a';
    const b = '{ __typename }                         # b';
    learnFrom(texts, a);
    learnFrom(texts, b);
    expect(texts.size).toBe(1);
    expect(texts.runnerFor(a, undefined)).toBeUndefined();
    expect(texts.runnerFor(b, undefined)).toBeDefined();
  });
});
