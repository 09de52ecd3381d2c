import { randomUUID } from 'node:crypto';
import { signDevToken } from '../../src/auth/index.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// yoga serves GraphQL at every URL that ends with /graphql or /graphql/ (e.g. /graphql/,
// /anything/graphql, /?x=/graphql). Every gate must see every request yoga runs as GraphQL,
// whatever its URL: the rate limit, the CSRF rule for GET, the content-type rule for POST.
let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '2' });
});
afterAll(() => system?.stop());

const origin = () => system.url.replace(/\/graphql$/, '');
const DOOR_WAYS = ['/graphql/', '/anything/graphql', '/?next=/graphql'];
/** GETs yoga serves as GraphQL: the URL, query string included, must end with /graphql or /graphql/. */
const GET_DOOR_WAYS = [`/graphql/?query=${encodeURIComponent('{ __typename }')}`, `/anything?query=${encodeURIComponent('{ __typename }')}&next=/graphql`];
const as = async (sub: string) => ({ authorization: `Bearer ${await signDevToken({ sub })}` });

async function post(path: string, headers: Record<string, string>, body = JSON.stringify({ query: '{ __typename }' })) {
  const response = await fetch(`${origin()}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe.each(DOOR_WAYS)('a GraphQL request to %s', (path) => {
  it('is rate limited like one to /graphql: 20 parallel POSTs against a burst of 2 get 429s', async () => {
    const headers = await as(`gate-${randomUUID()}`);
    const probe = await post(path, headers);
    // The path is one yoga serves as GraphQL (otherwise the test proves nothing).
    expect(probe.status).toBe(200);
    expect(JSON.parse(probe.text)).toEqual({ data: { __typename: 'Query' } });
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(path, headers)));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(17);
    expect(JSON.parse(limited[0]!.text).errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('refuses a POST with a form content type (a cross-site "simple" request) with 415 BAD_USER_INPUT', async () => {
    const answer = await post(path, { ...(await as(`ct-${randomUUID()}`)), 'content-type': 'application/x-www-form-urlencoded' }, 'query=%7B__typename%7D');
    expect(answer.status).toBe(415);
    expect(JSON.parse(answer.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});

describe.each(GET_DOOR_WAYS)('a GraphQL GET to %s', (path) => {
  it('is refused without a preflight header (CSRF) with 400 BAD_USER_INPUT, and runs with one', async () => {
    const headers = await as(`csrf-${randomUUID()}`);
    const allowed = await fetch(`${origin()}${path}`, { headers: { ...headers, 'apollo-require-preflight': 'true' } });
    expect(allowed.status).toBe(200);
    const response = await fetch(`${origin()}${path}`, { headers });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});

it('still answers /health, /ready and /metrics without counting them against anyone', async () => {
  for (let i = 0; i < 6; i++) {
    expect((await fetch(`${origin()}/health`)).status).toBe(200);
    expect((await fetch(`${origin()}/metrics`)).status).toBe(200);
  }
});
