import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { signDevToken } from '../../src/auth/index.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { byHash, firstPartyId } from '../support/firstParty.js';
import { waitUntil } from '../support/waitUntil.js';
import { startSystemBehindProxies, type SystemBehindProxies } from '../support/startSystemBehindProxies.js';

// Issue 15: persisted queries by id are answered by the by-hash lane in front of yoga
// (src/bff/transport/createByHashLane.ts). Its answers must be yoga's, byte for byte and header for
// header, and every gate yoga's plugins apply must apply on it. `bff.byHashLane = false` sends the
// same requests through yoga on the same running system, for the comparison. Whether a request took
// the lane is read from the log: the lane logs "by-hash lane" (debug) with the request's id.

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});
const logsOf = (requestId: string) => lines.map((line) => JSON.parse(line) as Record<string, any>).filter((entry) => entry.requestId === requestId);
const SUNSET = '2099-01-01';

let system: SystemBehindProxies;
let demo: string;
beforeAll(async () => {
  system = await startSystemBehindProxies(
    {
      // A limit the comparisons stay under; the rate-limit test spends a fresh client's burst.
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '150',
      MIN_CLIENT_VERSIONS: 'shop-ios=4.1.0',
      SUNSET_CLIENT_VERSIONS: `shop-ios=4.1.9@${SUNSET}`,
      REQUEST_BUDGET_MS: '3000',
      DOWNSTREAM_TIMEOUT_MS: '10000',
      BREAKER_MIN_REQUESTS: '100000',
    },
    {},
    { logger: createLogger({ level: 'debug' }, sink) },
  );
  demo = `Bearer ${await signDevToken({ sub: 'demo' })}`;
});
afterAll(() => system?.stop());
afterEach(() => {
  system.bff.bff.byHashLane = true;
  for (const proxy of Object.values(system.proxies)) proxy.heal();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request over a raw node:http client: the bytes as sent (no decompression), every header. */
function send(method: 'GET' | 'POST', pathAndQuery: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  const url = new URL(system.bff.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path: pathAndQuery, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Call {
  method: 'GET' | 'POST';
  /** The request body (POST) or its parameters (GET). */
  params: Record<string, unknown>;
  headers?: Record<string, string>;
}

const APOLLO_KOTLIN_ACCEPT = 'multipart/mixed;deferSpec=20220824, application/graphql-response+json, application/json';

function toRequest({ method, params, headers = {} }: Call, requestId: string) {
  const common = { 'x-request-id': requestId, ...headers };
  if (method === 'POST') return send('POST', '/graphql', { 'content-type': 'application/json', ...common }, JSON.stringify(params));
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) query.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  return send('GET', `/graphql?${query}`, { 'apollo-require-preflight': 'true', ...common });
}

/** Whether yoga answered this request (else the lane did). */
const ranOnYoga = (requestId: string) => !logsOf(requestId).some((entry) => entry.msg === 'by-hash lane');

/** Headers that differ between any two responses (the clock, the connection). */
const VOLATILE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
const comparable = (headers: Raw['headers']) => Object.fromEntries(Object.entries(headers).filter(([name]) => !VOLATILE.has(name)));

/** The same call on the lane and on yoga: returns both, after checking which path each took. */
async function onBothPaths(call: Call) {
  const laneId = `lane-${randomUUID()}`;
  const yogaId = `yoga-${randomUUID()}`;
  const lane = await toRequest(call, laneId);
  system.bff.bff.byHashLane = false;
  const yoga = await toRequest(call, yogaId);
  system.bff.bff.byHashLane = true;
  expect(ranOnYoga(yogaId)).toBe(true);
  expect(ranOnYoga(laneId)).toBe(false);
  // The request id is the caller's on both: everything else must be the same bytes.
  expect(lane.headers['x-request-id']).toBe(laneId);
  expect(yoga.headers['x-request-id']).toBe(yogaId);
  return { lane, yoga };
}

function expectSameAnswer(lane: Raw, yoga: Raw) {
  expect(lane.status).toBe(yoga.status);
  const { 'x-request-id': _a, ...laneHeaders } = comparable(lane.headers);
  const { 'x-request-id': _b, ...yogaHeaders } = comparable(yoga.headers);
  expect(laneHeaders).toEqual(yogaHeaders);
  expect(lane.body.equals(yoga.body)).toBe(true);
}

describe('the lane answers what yoga answers, byte for byte', () => {
  const screens: [string, Record<string, unknown>, boolean][] = [
    ['OrderList', { first: 20 }, true],
    ['OrderList', { first: 3, status: 'PENDING' }, true],
    ['Home', { first: 5 }, true],
    ['Devices', {}, true],
    ['CatalogPage', { first: 3 }, false],
  ];
  const variants: [string, Partial<Call>][] = [
    ['POST, as Apollo Kotlin sends it', { method: 'POST', headers: { accept: APOLLO_KOTLIN_ACCEPT, 'apollographql-client-name': 'shop-android', 'apollographql-client-version': '5.0.0' } }],
    ['POST, no Accept, brotli', { method: 'POST', headers: { 'accept-encoding': 'br' } }],
    ['GET, application/json, gzip, from a web origin', { method: 'GET', headers: { accept: 'application/json', 'accept-encoding': 'gzip', origin: 'https://app.example.com' } }],
  ];

  it.each(screens.flatMap(([name, variables, viewer]) => variants.map(([how, call]) => [name, JSON.stringify(variables), how, viewer, call] as const)))(
    '%s %s, %s',
    async (name, variables, _how, viewer, call) => {
      const { lane, yoga } = await onBothPaths({ method: call.method!, params: byHash(name, JSON.parse(variables)), headers: { ...call.headers, ...(viewer ? { authorization: demo } : {}) } });
      expect(lane.status).toBe(200);
      expectSameAnswer(lane, yoga);
    },
  );

  it('answers a GET with the ETag yoga gives it, and its If-None-Match with the same 304', async () => {
    const call: Call = { method: 'GET', params: byHash('CatalogPage', { first: 2 }) };
    const first = await toRequest(call, `etag-${randomUUID()}`);
    expect(first.headers.etag).toMatch(/^W\/"/);
    const { lane, yoga } = await onBothPaths({ ...call, headers: { 'if-none-match': first.headers.etag as string } });
    expect(lane.status).toBe(304);
    expectSameAnswer(lane, yoga);
  });

  it('answers a retiring app version with the same Deprecation, Sunset and extensions.sunset', async () => {
    const { lane, yoga } = await onBothPaths({ method: 'POST', params: byHash('OrderList', { first: 2 }), headers: { authorization: demo, 'apollographql-client-name': 'shop-ios', 'apollographql-client-version': '4.1.5' } });
    expect(lane.status).toBe(200);
    expect(lane.headers.sunset).toBeDefined();
    expect(JSON.parse(lane.body.toString()).extensions).toEqual({ sunset: SUNSET });
    expectSameAnswer(lane, yoga);
  });

  it('answers what the same operation sent as text answers', async () => {
    const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { name: string; body: string }[] };
    const text = manifest.operations.find((op) => op.name === 'OrderList')!.body;
    const textAnswer = await send('POST', '/graphql', { 'content-type': 'application/json', authorization: demo }, JSON.stringify({ query: text, variables: { first: 20 } }));
    const { lane } = await onBothPaths({ method: 'POST', params: byHash('OrderList', { first: 20 }), headers: { authorization: demo } });
    expect(textAnswer.status).toBe(200);
    expect(lane.body.equals(textAnswer.body)).toBe(true);
  });
});

describe('every gate applies on the lane, answered as yoga answers it', () => {
  it('an unknown id: PERSISTED_QUERY_NOT_IN_LIST (the code Apollo clients treat as final), 400, never cached', async () => {
    const unknown = 'f'.repeat(64);
    const params = { operationName: 'Gone', variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: unknown } } };
    for (const method of ['POST', 'GET'] as const) {
      const { lane, yoga } = await onBothPaths({ method, params });
      expect(lane.status).toBe(400);
      expect(lane.headers['content-type']).toMatch(/^application\/graphql-response\+json/);
      expect(lane.headers['cache-control']).toBe('private, no-cache, must-revalidate');
      expect(JSON.parse(lane.body.toString())).toEqual({
        errors: [{ message: `Persisted query '${unknown}' not found in the persisted query list`, extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }],
      });
      expectSameAnswer(lane, yoga);
    }
  });

  it('the rate limit: a client past its burst gets 429 RATE_LIMITED with Retry-After, counted in bff_rejected_requests_total', async () => {
    const before = await metric('bff_rejected_requests_total{reason="rate_limited"}');
    const authorization = `Bearer ${await signDevToken({ sub: `limited-${randomUUID()}` })}`;
    // Batches of 50 until refusals come (the burst is 150, refilled at 1/s however slow the machine).
    const limited: Raw[] = [];
    for (let batch = 0; batch < 10 && limited.length === 0; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => toRequest({ method: 'POST', params: byHash('CatalogPage', { first: 1 }), headers: { authorization } }, `rl-${randomUUID()}`)));
      limited.push(...answers.filter((answer) => answer.status === 429));
      expect(answers.every((answer) => answer.status === 200 || answer.status === 429)).toBe(true);
    }
    expect(limited.length).toBeGreaterThan(0);
    expect(JSON.parse(limited[0]!.body.toString()).errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.every((answer) => !ranOnYoga(answer.headers['x-request-id'] as string))).toBe(true);
    expect((await metric('bff_rejected_requests_total{reason="rate_limited"}')) - before).toBe(limited.length);
  });

  it('an app version below the minimum: UPGRADE_REQUIRED with minimumVersion, 400', async () => {
    const { lane, yoga } = await onBothPaths({ method: 'POST', params: byHash('CatalogPage', { first: 1 }), headers: { 'apollographql-client-name': 'shop-ios', 'apollographql-client-version': '4.0.2' } });
    expect(lane.status).toBe(400);
    expect(JSON.parse(lane.body.toString()).errors[0].extensions).toEqual({ code: 'UPGRADE_REQUIRED', minimumVersion: '4.1.0' });
    expectSameAnswer(lane, yoga);
  });

  it('the CSRF rule: a GET without a preflight header or a non-simple content type is refused, 400 BAD_USER_INPUT', async () => {
    const query = new URLSearchParams({ operationName: 'CatalogPage', extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: firstPartyId('CatalogPage') } }) });
    const laneId = `csrf-${randomUUID()}`;
    const lane = await send('GET', `/graphql?${query}`, { 'x-request-id': laneId });
    system.bff.bff.byHashLane = false;
    const yoga = await send('GET', `/graphql?${query}`, { 'x-request-id': `csrf-${randomUUID()}` });
    system.bff.bff.byHashLane = true;
    expect(lane.status).toBe(400);
    expect(JSON.parse(lane.body.toString()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expectSameAnswer(lane, yoga);
  });

  it.each([
    ['a variable of the wrong type', { first: 'twenty' }],
    ['a variable that is not storable text', { first: 2, after: 'a\u0000b' }],
    ['variables that are not an object', 'twenty'],
  ])('%s: BAD_USER_INPUT, 400', async (_what, variables) => {
    const params = { ...byHash('CatalogPage'), variables };
    const { lane, yoga } = await onBothPaths({ method: 'POST', params });
    expect(lane.status).toBe(400);
    const body = JSON.parse(lane.body.toString());
    expect(body.data).toBeUndefined();
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expectSameAnswer(lane, yoga);
  });

  it('a token that is not valid: UNAUTHENTICATED, 401 with its WWW-Authenticate challenge', async () => {
    const { lane, yoga } = await onBothPaths({ method: 'POST', params: byHash('Devices'), headers: { authorization: 'Bearer not-a-token' } });
    expect(lane.status).toBe(401);
    expect(lane.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    expect(JSON.parse(lane.body.toString()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expectSameAnswer(lane, yoga);
  });

  it('no token where the viewer is needed: the viewer is null with UNAUTHENTICATED, as on yoga', async () => {
    const { lane, yoga } = await onBothPaths({ method: 'POST', params: byHash('Devices') });
    expect(JSON.parse(lane.body.toString()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expectSameAnswer(lane, yoga);
  });

  it('the access log line, the request id downstream, the operation and HTTP metrics', async () => {
    const operations = await metric('bff_operations_total{operation="CatalogPage",client_name="unknown",client_version="unknown"}');
    const durations = await metric('bff_http_request_duration_seconds_count{endpoint="/graphql",method="POST",status="200"}');
    const requestId = `log-${randomUUID()}`;
    const catalogBefore = system.proxies.catalog.received.length;
    // Variables of its own: no response cache entry answers it without a downstream call.
    const answer = await toRequest({ method: 'POST', params: byHash('CatalogPage', { first: 1, search: requestId }) }, requestId);
    expect(answer.status).toBe(200);
    expect(ranOnYoga(requestId)).toBe(false);
    const accessLine = logsOf(requestId).find((entry) => entry.msg === 'request');
    expect(accessLine).toMatchObject({ level: 30, method: 'POST', path: '/graphql', status: 200 });
    expect(system.proxies.catalog.received.slice(catalogBefore).map((call) => call.headers['x-request-id'])).toEqual([requestId]);
    expect(await metric('bff_operations_total{operation="CatalogPage",client_name="unknown",client_version="unknown"}')).toBe(operations + 1);
    expect(await metric('bff_http_request_duration_seconds_count{endpoint="/graphql",method="POST",status="200"}')).toBe(durations + 1);
  });

  it('the request budget: a stalled catalog answers products null with DOWNSTREAM_UNAVAILABLE within the budget', async () => {
    system.proxies.catalog.inject({ kind: 'delay', ms: 20_000 });
    const started = Date.now();
    const requestId = `budget-${randomUUID()}`;
    const answer = await toRequest({ method: 'POST', params: byHash('CatalogPage', { first: 1, search: requestId }) }, requestId);
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(ranOnYoga(requestId)).toBe(false);
    const body = JSON.parse(answer.body.toString());
    expect(answer.status).toBe(200);
    expect(body.data).toEqual({ products: null });
    expect(body.errors[0]).toMatchObject({ path: ['products'], extensions: { code: 'DOWNSTREAM_UNAVAILABLE', service: 'catalog' } });
    expect(answer.headers['cache-control']).toBe('private, no-cache');
  });
});

describe('the response cache (RESPONSE_CACHE, on by default) on the lane', () => {
  it("a stalled service: a cached answer's feed check waits no longer than the request budget, then the last good result answers", async () => {
    const call: Call = { method: 'GET', params: byHash('CatalogPage', { first: 13 }) };
    const good = await toRequest(call, `stall-${randomUUID()}`);
    expect(good.status).toBe(200);
    system.proxies.catalog.inject({ kind: 'delay', ms: 20_000 });
    // Fresh until its feed check is due (RESPONSE_CACHE_FEED_CHECK); from then on the check meets the stalled catalog.
    const stale = await waitUntil(
      async () => {
        const started = Date.now();
        const answer = await toRequest(call, `stall-${randomUUID()}`);
        const body = JSON.parse(answer.body.toString());
        return body.extensions?.stale ? { answer, body, ms: Date.now() - started } : undefined;
      },
      { what: 'the last good answer', timeoutMs: 60_000 },
    );
    expect(stale.answer.status).toBe(200);
    expect(stale.body.extensions.stale.services).toEqual(['catalog']);
    expect(stale.body.data).toEqual(JSON.parse(good.body.toString()).data);
    expect(stale.answer.headers['cache-control']).toBe('private, no-cache');
    // Within the request budget (3 s), not the service's own timeout (10 s) nor the stall (20 s).
    expect(stale.ms).toBeLessThan(9_000);
  });

  it('answers a repeat from the cache with the bytes yoga answers it with, and an If-None-Match with its 304', async () => {
    const call: Call = { method: 'GET', params: byHash('CatalogPage', { first: 6 }) };
    const first = await toRequest(call, `cache-${randomUUID()}`);
    expect(first.status).toBe(200);
    const hits = await metric('bff_response_cache_lookups_total{result="hit"}');
    const { lane, yoga } = await onBothPaths(call);
    expect(await metric('bff_response_cache_lookups_total{result="hit"}')).toBe(hits + 2);
    expectSameAnswer(lane, yoga);
    expect(lane.body.equals(first.body)).toBe(true);
    const revalidated = await onBothPaths({ ...call, headers: { 'if-none-match': first.headers.etag as string } });
    expect(revalidated.lane.status).toBe(304);
    expectSameAnswer(revalidated.lane, revalidated.yoga);
  });

  it("keeps a viewer's result to that viewer on the lane as on yoga", async () => {
    const other = `Bearer ${await signDevToken({ sub: `other-${randomUUID()}` })}`;
    const mine = await toRequest({ method: 'POST', params: byHash('Devices'), headers: { authorization: demo } }, `mine-${randomUUID()}`);
    const theirs = await onBothPaths({ method: 'POST', params: byHash('Devices'), headers: { authorization: other } });
    expect(theirs.lane.body.equals(mine.body)).toBe(false);
    expectSameAnswer(theirs.lane, theirs.yoga);
  });
});

describe('what stays on yoga', () => {
  it.each([
    ['a mutation by id', { method: 'POST', params: byHash('UpdateProfile', { input: { name: 'Demo User' } }), headers: {} }],
    ['text', { method: 'POST', params: { query: '{ __typename }' }, headers: {} }],
    ['a query asking for an event stream', { method: 'GET', params: byHash('CatalogPage'), headers: { accept: 'text/event-stream' } }],
    ['a body with a parameter yoga refuses', { method: 'POST', params: { ...byHash('CatalogPage'), extra: 1 }, headers: {} }],
    ['an operation with @defer', { method: 'POST', params: byHash('Account'), headers: {} }],
  ] as [string, Call][])('%s', async (_what, call) => {
    const requestId = `yoga-${randomUUID()}`;
    await toRequest({ ...call, headers: { ...call.headers, authorization: demo } }, requestId);
    expect(ranOnYoga(requestId)).toBe(true);
  });
});

async function metric(series: string): Promise<number> {
  const text = await (await fetch(system.bff.bff.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('compiled persisted queries', () => {
  it('are compiled for every first-party query, those with DateTime and SyncToken leaves included, and answered in JSON.stringify\'s bytes', async () => {
    const { createSchema } = await import('../../src/bff/createSchema.js');
    const { compilePersistedQueries, loadPersistedOperations } = await import('../../src/bff/persisted/index.js');
    const schema = createSchema();
    const operations = loadPersistedOperations(schema, join(projectRoot(), 'persisted-queries'));
    const compiled = compilePersistedQueries(schema, operations);
    const queries = [...operations.byId.values()].filter((op) => op.type === 'query');
    expect(queries.map((op) => op.name)).toEqual(expect.arrayContaining(['OrderList', 'ProductDetail']));
    for (const op of queries) expect([op.name, compiled.has(op.id)]).toEqual([op.name, true]);
    const answer = await toRequest({ method: 'POST', params: byHash('OrderList', { first: 20 }), headers: { authorization: demo } }, `ser-${randomUUID()}`);
    const text = answer.body.toString();
    expect(text).toContain('"createdAt":"');
    expect(JSON.stringify(JSON.parse(text))).toBe(text);
  });
});
