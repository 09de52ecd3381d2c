import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signDevToken } from '../../src/auth/index.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { buildProject } from '../support/buildProject.js';
import { startNode, type RunningProcess } from '../support/processes.js';
import { startPushDoubles, type PushDoubles } from '../support/pushStandIns.js';
import { createTestDatabase } from '../support/testDatabase.js';
import { waitUntil } from '../support/waitUntil.js';

// Push as a deployment sees it: the system started as `npm start` starts it (a spawned process,
// configured by environment variables only), APNs and FCM stand-ins of the test's own over HTTP/2
// with TLS named by APNS_URL / APNS_KEY_FILE / APNS_KEY_ID / APNS_TEAM_ID / APNS_TOPIC /
// APNS_CA_FILE and FCM_CREDENTIALS_FILE (its token_uri) / FCM_URL — no FCM_CA_FILE: APNS_CA_FILE
// serves both. Devices are registered through the graph by persisted-operation hash; orders change
// through the orders service's HTTP API; the test counts what arrives.

const hex = (bytes = 32) => randomBytes(bytes).toString('hex');
const gid = (number: string) => Buffer.from(`1:Order:${number}`).toString('base64url');
const manifest = JSON.parse(readFileSync(join(projectRoot(), 'persisted-queries/first-party.json'), 'utf8')) as { operations: { id: string; name: string }[] };
const hashOf = (name: string) => manifest.operations.find((o) => o.name === name)!.id;

let doubles: PushDoubles;
let bff: RunningProcess;
let testDb: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
let graphqlUrl: string;
let ordersUrl: string;
let notificationsUrl: string;

beforeAll(async () => {
  await buildProject();
  doubles = await startPushDoubles();
  const { FCM_CA_FILE: _notGiven, PUSH_POKE_WINDOW_MS: _default, ...env } = doubles.env;
  if (process.env.DATABASE_URL) testDb = await createTestDatabase(process.env.DATABASE_URL);
  bff = startNode('dist/src/main.js', [], { ...env, PORT: '0', DATA_DIR: 'memory://', ...(testDb ? { DATABASE_URL: testDb.url } : {}) });
  [, graphqlUrl] = (await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/, 120_000)) as unknown as [string, string];
  [, ordersUrl] = (await bff.waitFor(/orders service:\s+(http:\/\/\S+)/)) as unknown as [string, string];
  [, notificationsUrl] = (await bff.waitFor(/notifications service:\s+(http:\/\/\S+)/)) as unknown as [string, string];
}, 300_000);
afterAll(async () => {
  await bff?.stop('SIGTERM');
  await doubles?.close();
  await testDb?.drop();
}, 60_000);

/** A first-party operation by its hash alone (Apollo's persisted-query protocol), as the apps send it. */
async function byHash(name: string, variables: Record<string, unknown>, as: string) {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await signDevToken({ sub: as })}` },
    body: JSON.stringify({ operationName: name, variables, extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(name) } } }),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } };
}

async function register(as: string, platform: string, token: string, installationId: string = randomUUID()) {
  const { body } = await byHash('RegisterDevice', { input: { installationId, platform, token } }, as);
  expect(body.errors).toBeUndefined();
  expect(body.data.registerDevice.userErrors).toEqual([]);
  return installationId;
}

async function orders(path: string, body: unknown) {
  const response = await fetch(`${ordersUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.ok).toBe(true);
  return ((await response.json()) as { order: { number: string } }).order;
}

const to = (token: string, kind?: 'alert' | 'poke') => doubles.received().filter((p) => p.token === token && (!kind || p.kind === kind));

test('devices registered through the graph by hash; order changes made on the orders service: each arrives at the stand-ins, alerts once per change and device, nothing to others', async () => {
  const ann = `ann-${hex(4)}`;
  const ben = `ben-${hex(4)}`;
  const iphone = hex();
  const pixel = `fcm:${hex(40)}`;
  const bensPhone = hex();
  await register(ann, 'IOS', iphone);
  const pixelId = await register(ann, 'ANDROID', pixel);
  await register(ben, 'IOS', bensPhone);

  const devices = await byHash('Devices', {}, ann);
  expect(devices.body.errors).toBeUndefined();
  expect(devices.body.data.viewer.devices.map((d: { platform: string }) => d.platform).sort()).toEqual(['ANDROID', 'IOS']);
  expect(JSON.stringify(devices.body)).not.toContain(iphone);

  const order = await orders('/orders', { userId: ann, currency: 'EUR', lines: [{ sku: 'SKU-0001', quantity: 1, unitPriceCents: 100 }] });
  // Two status changes back to back: two alerts per device, even when the consumer reads both at once.
  await orders(`/orders/${order.number}/status`, { status: 'CONFIRMED' });
  await orders(`/orders/${order.number}/cancel`, { userId: ann });
  await waitUntil(() => to(iphone, 'alert').length >= 2 && to(pixel, 'alert').length >= 2 && to(iphone, 'poke').length >= 1 && to(pixel, 'poke').length >= 1, {
    what: 'two alerts and a poke on each of the owner\'s devices',
    timeoutMs: 60_000,
  }).catch((error: Error) => {
    throw new Error(`${error.message}; received ${JSON.stringify(doubles.received().map((p) => [p.platform, p.kind, p.token.slice(0, 8)]))}; output:\n${bff.output().slice(-6000)}`);
  });

  // Unregistered through the graph: the next change reaches the phone only.
  const gone = await byHash('UnregisterDevice', { input: { installationId: pixelId } }, ann);
  expect(gone.body.data.unregisterDevice).toEqual({ installationId: pixelId, userErrors: [], __typename: 'UnregisterDevicePayload' });
  // The same query by hash again: the registry as it is now, not an earlier answer (response cache).
  const after = await byHash('Devices', {}, ann);
  expect(after.body.data.viewer.devices.map((d: { platform: string }) => d.platform)).toEqual(['IOS']);
  const second = await orders('/orders', { userId: ann, currency: 'EUR', lines: [{ sku: 'SKU-0002', quantity: 2, unitPriceCents: 250 }] });
  await orders(`/orders/${second.number}/status`, { status: 'SHIPPED' });
  await waitUntil(() => to(iphone, 'alert').length === 3, { what: 'the alert of the second order', timeoutMs: 60_000 });
  // Nothing left to send: the sender has drained what these changes made (its metrics say so).
  await waitUntil(async () => /^push_consumer_lag_seconds 0$/m.test(await (await fetch(`${notificationsUrl}/metrics`)).text()), { what: 'the consumer caught up' });

  for (const token of [iphone, pixel]) {
    const ids = to(token).map((p) => p.pushId);
    expect(new Set(ids).size).toBe(ids.length);
  }
  expect(to(iphone, 'alert').map((p) => p.body.orderId)).toEqual([gid(order.number), gid(order.number), gid(second.number)]);
  expect(to(pixel, 'alert').map((p) => p.body.message.data.orderId)).toEqual([gid(order.number), gid(order.number)]);
  expect(to(bensPhone)).toEqual([]);
  expect(to(iphone)[0]!.httpVersion).toBe('2.0');
  expect(to(pixel)[0]!.httpVersion).toBe('2.0');
  // Counted once marked sent, a moment after the stand-in has it.
  await waitUntil(async () => {
    const metrics = await (await fetch(`${notificationsUrl}/metrics`)).text();
    return /^push_sent_total\{platform="IOS",kind="alert"\} 3$/m.test(metrics) && /^push_sent_total\{platform="ANDROID",kind="alert"\} 2$/m.test(metrics);
  }, { what: 'push_sent_total of the alerts' });
}, 180_000);

test('bad registrations by hash: an empty or oversized token is a userError, an unknown platform BAD_USER_INPUT; nothing is stored', async () => {
  const cy = `cy-${hex(4)}`;
  const empty = await byHash('RegisterDevice', { input: { installationId: randomUUID(), platform: 'IOS', token: '' } }, cy);
  expect(empty.body.data.registerDevice).toMatchObject({ device: null, userErrors: [{ code: 'INVALID_INPUT', field: ['token'] }] });
  const huge = await byHash('RegisterDevice', { input: { installationId: randomUUID(), platform: 'ANDROID', token: 'x'.repeat(5000) } }, cy);
  expect(huge.body.data.registerDevice).toMatchObject({ device: null, userErrors: [{ code: 'INVALID_INPUT', field: ['token'] }] });
  const platform = await byHash('RegisterDevice', { input: { installationId: randomUUID(), platform: 'WINDOWS_PHONE', token: hex() } }, cy);
  expect(platform.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(JSON.stringify(platform.body)).not.toMatch(/\n\s+at /);
  const devices = await byHash('Devices', {}, cy);
  expect(devices.body.data.viewer.devices).toEqual([]);
}, 60_000);
