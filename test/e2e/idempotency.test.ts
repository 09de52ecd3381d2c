import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signDevToken } from '../../src/auth/index.js';
import { buildProject } from '../support/buildProject.js';
import { startNode, startServicesProcess, type RunningProcess } from '../support/processes.js';
import { createTestDatabase } from '../support/testDatabase.js';

// Idempotent placeOrder across real processes: two BFF instances on one PostgreSQL, and a BFF
// killed (SIGKILL) between the orders service's commit and the storing of the outcome.

const productId = (sku: string) => Buffer.from(`1:Product:${sku}`).toString('base64url');
const freshSub = () => `buyer-${randomBytes(6).toString('hex')}`;

const PLACE_ORDER = /* GraphQL */ `
  mutation($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      order { id number status lines { quantity unitPrice { amount currency } product { sku name } } total { amount currency } }
      userErrors { code message field }
    }
  }
`;
const VIEWER_ORDERS = '{ viewer { orders(first: 100) { edges { node { number } } } } }';

async function post(url: string, query: string, variables: Record<string, unknown>, sub: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await signDevToken({ sub })}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[]; extensions?: Record<string, unknown> } };
}

/** Retries while the key is in use (the dead attempt's lock has not timed out yet), as a client honouring Retry-After does. */
async function placeUntilNotInUse(url: string, input: Record<string, unknown>, sub: string) {
  for (let attempt = 0; ; attempt++) {
    const answer = await post(url, PLACE_ORDER, { input }, sub);
    if (answer.status !== 409 || attempt >= 20) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const startBff = (env: Record<string, string>) => startNode('dist/src/main.js', [], env);
const urlOf = async (bff: RunningProcess) => (await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/))[1]!;

beforeAll(buildProject, 200_000);

// Separate processes sharing a database need the PostgreSQL server (CI's second pass).
const withServer = process.env.DATABASE_URL ? describe : describe.skip;

withServer('two BFF processes on one PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let services: RunningProcess;
  let bffs: RunningProcess[] = [];
  let urls: string[];
  let ordersUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase(process.env.DATABASE_URL!);
    const started = await startServicesProcess({ DATABASE_URL: database.url });
    services = started.services;
    ordersUrl = started.urls.orders;
    const env = { DATABASE_URL: database.url, ...started.serviceEnv, LOG_LEVEL: 'warn' };
    bffs = [startBff({ ...env, PORT: '0' }), startBff({ ...env, PORT: '0' })];
    urls = await Promise.all(bffs.map(urlOf));
  }, 90_000);

  afterAll(async () => {
    await Promise.all(bffs.map((b) => b.stop()));
    await services?.stop();
    await database?.drop();
  });

  it('place exactly one order for 50 concurrent identical requests spread over both; the others are byte-identical replays or 409s', async () => {
    const sub = freshSub();
    const input = { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0001'), quantity: 2 }] };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => post(urls[i % 2]!, PLACE_ORDER, { input }, sub)));

    const listed = await fetch(`${ordersUrl}/orders?userId=${sub}&limit=100`);
    expect(((await listed.json()) as { items: unknown[] }).items).toHaveLength(1);
    const succeeded = answers.filter((a) => a.status === 200);
    const inUse = answers.filter((a) => a.status === 409);
    expect(succeeded.length + inUse.length).toBe(50);
    expect(succeeded.filter((a) => !a.body.extensions?.idempotentReplay)).toHaveLength(1);
    expect(new Set(succeeded.map((a) => JSON.stringify(a.body.data))).size).toBe(1);
    for (const a of inUse) expect(a.body.errors!.map((e) => e.extensions.code)).toEqual(['IDEMPOTENCY_KEY_IN_USE']);
  }, 60_000);
});

/**
 * The crash story, whatever the database: the first process dies right after `POST /orders`
 * answered (test hook), before storing the outcome; a new process on the same database answers
 * the retry with the order the dead one placed.
 */
function crashAfterOrdersCommitted(setUp: () => Promise<{ env: Record<string, string>; ordersOf(sub: string, url: string): Promise<string[]>; tearDown(): Promise<void> }>) {
  let env: Record<string, string>;
  let ordersOf: (sub: string, url: string) => Promise<string[]>;
  let tearDown: () => Promise<void>;
  let bff: RunningProcess | undefined;
  const sub = freshSub();
  const input = { idempotencyKey: randomUUID(), lines: [{ productId: productId('SKU-0002'), quantity: 1 }] };
  let placed: string[];

  beforeAll(async () => {
    ({ env, ordersOf, tearDown } = await setUp());
  }, 90_000);
  afterAll(async () => {
    await bff?.stop();
    await tearDown?.();
  });

  it('the BFF is killed after the orders service committed: the client gets no answer', async () => {
    bff = startBff({ ...env, PORT: '0', BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: 'POST /orders' });
    const url = await urlOf(bff);
    await expect(post(url, PLACE_ORDER, { input }, sub)).rejects.toThrow();
    await bff.exited;
    expect(bff.child.signalCode).toBe('SIGKILL');
  }, 90_000);

  it('after a restart, the retry with the same key answers the order the dead process placed, and it is the only one', async () => {
    bff = startBff({ ...env, PORT: '0' });
    const url = await urlOf(bff);
    placed = await ordersOf(sub, url);
    expect(placed).toHaveLength(1);

    const retry = await placeUntilNotInUse(url, input, sub);
    expect(retry.status).toBe(200);
    expect(retry.body.data.placeOrder.userErrors).toEqual([]);
    expect(retry.body.data.placeOrder.order.number).toBe(placed[0]);
    expect(await ordersOf(sub, url)).toEqual(placed);
  }, 90_000);

  it('the next retry is a replay of that answer', async () => {
    const url = await urlOf(bff!);
    const again = await post(url, PLACE_ORDER, { input }, sub);
    expect(again.body.extensions?.idempotentReplay).toBe(true);
    expect(again.body.data.placeOrder.order.number).toBe(placed[0]);
  }, 30_000);
}

describe('crash between the downstream write and the stored outcome: embedded PGlite on disk, services in process', () => {
  crashAfterOrdersCommitted(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mobile-bff-crash-'));
    return {
      env: { NODE_ENV: 'test', DATA_DIR: dataDir, IDEMPOTENCY_LOCK_TIMEOUT: '1s' },
      // The in-process orders service has no known port: read what it holds through the viewer's orders.
      async ordersOf(sub, url) {
        const { body } = await post(url, VIEWER_ORDERS, {}, sub);
        return body.data.viewer.orders.edges.map((e: any) => e.node.number);
      },
      async tearDown() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
});

withServer('crash between the downstream write and the stored outcome: PostgreSQL, services in their own process', () => {
  crashAfterOrdersCommitted(async () => {
    const database = await createTestDatabase(process.env.DATABASE_URL!);
    const { services, urls, serviceEnv } = await startServicesProcess({ DATABASE_URL: database.url });
    const ordersUrl = urls.orders;
    return {
      env: {
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        ...serviceEnv,
        IDEMPOTENCY_LOCK_TIMEOUT: '1s',
      },
      async ordersOf(sub) {
        const response = await fetch(`${ordersUrl}/orders?userId=${sub}&limit=100`);
        return ((await response.json()) as { items: { number: string }[] }).items.map((o) => o.number);
      },
      async tearDown() {
        await services.stop();
        await database.drop();
      },
    };
  });
});

describe('the crash hook', () => {
  it('refuses to start outside NODE_ENV=test', async () => {
    const bad = startBff({ DATA_DIR: 'memory://', PORT: '0', BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: 'POST /orders' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/BFF_TEST_CRASH_AFTER_DOWNSTREAM_WRITE: a test hook, only allowed when NODE_ENV=test/);
  }, 30_000);
});
