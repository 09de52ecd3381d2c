import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../src/db/index.js';
import type { ReceivedPush } from '../../src/services/notifications/createPushStandIns.js';
import { purgeFinishedPushes } from '../../src/services/notifications/purgeFinishedPushes.js';
import { startPushDoubles, type PushDoubles } from '../support/pushStandIns.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';
import { waitUntil } from '../support/waitUntil.js';

// Pushes from order changes, through the whole system: devices registered through the graph,
// orders changed on the orders service, pushes received by APNs and FCM stand-ins over HTTP/2
// with TLS.

const REGISTER = /* GraphQL */ `
  mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) { device { installationId } userErrors { code field } } }
`;
const UPDATE_PROFILE = /* GraphQL */ `
  mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { user { name } userErrors { code } } }
`;

const hex = (bytes = 32) => randomBytes(bytes).toString('hex');
const orderGlobalId = (number: string) => Buffer.from(`1:Order:${number}`).toString('base64url');

let doubles: PushDoubles;
let system: TestSystem;
beforeAll(async () => {
  doubles = await startPushDoubles();
  system = await startTestSystem(doubles.env);
});
afterAll(async () => {
  await system?.stop();
  await doubles?.close();
});

async function register(as: string, platform: 'IOS' | 'ANDROID', token: string, notifyOrderUpdates = true, installationId: string = randomUUID()) {
  const { body } = await system.gql(REGISTER, { input: { installationId, platform, token, notifyOrderUpdates } }, { as });
  expect(body.data.registerDevice.userErrors).toEqual([]);
  return installationId;
}

async function placeOrder(userId: string, unitPriceCents = 1000, sku = 'SKU-0001'): Promise<{ number: string; totalCents: number }> {
  const response = await fetch(`${system.serviceUrls.orders}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId, currency: 'EUR', lines: [{ sku, quantity: 3, unitPriceCents }] }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { order: { number: string; totalCents: number } }).order;
}

async function setStatus(number: string, status: string) {
  const response = await fetch(`${system.serviceUrls.orders}/orders/${number}/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
  expect(response.status).toBe(200);
}

const to = (token: string, kind?: 'alert' | 'poke') => doubles.received().filter((p) => p.token === token && (!kind || p.kind === kind));

/**
 * Waits until the consumer has passed everything committed so far: a change of a user of its own,
 * with a device, is pushed after every earlier change (the consumer is ordered).
 */
async function barrier() {
  const user = `barrier-${hex(4)}`;
  const token = hex();
  await register(user, 'IOS', token);
  await placeOrder(user);
  await waitUntil(() => to(token, 'poke').length === 1, { what: 'the barrier poke' });
}

async function metrics(): Promise<string> {
  return (await fetch(`${system.serviceUrls.notifications}/metrics`)).text();
}

test('an order status change: one alert and one poke per opted-in device of the owner, a poke only to an opted-out one, nothing to others; no personal data', async () => {
  const alice = `alice-${hex(4)}`;
  const bob = `bob-${hex(4)}`;
  const name = `Alice Zebrafinch ${hex(3)}`;
  const email = `alice.${hex(3)}@example.com`;
  await system.gql(UPDATE_PROFILE, { input: { expectedVersion: 1, name, email } }, { as: alice });
  const productName = `Secret Widget ${hex(3)}`;
  const sku = `SKU-SECRET-${hex(3)}`;
  const put = await fetch(`${system.serviceUrls.catalog}/products/${sku}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: productName, description: 'classified', priceCents: 123457, currency: 'EUR' }),
  });
  expect(put.ok).toBe(true);
  const order = await placeOrder(alice, 123457, sku);
  await barrier(); // the placing is behind us: devices registered now see only the status change

  const iphone = hex();
  const pixel = `fcm:${hex(40)}`;
  const ipad = hex();
  const bobsPhone = hex();
  await register(alice, 'IOS', iphone);
  await register(alice, 'ANDROID', pixel);
  await register(alice, 'IOS', ipad, false);
  await register(bob, 'IOS', bobsPhone);

  await setStatus(order.number, 'SHIPPED');
  await waitUntil(() => to(iphone).length === 2 && to(pixel).length === 2 && to(ipad).length === 1, { what: 'the pushes of the status change' });
  await barrier();
  expect(to(iphone, 'alert')).toHaveLength(1);
  expect(to(iphone, 'poke')).toHaveLength(1);
  expect(to(pixel, 'alert')).toHaveLength(1);
  expect(to(pixel, 'poke')).toHaveLength(1);
  expect(to(ipad, 'poke')).toHaveLength(1);
  expect(to(ipad, 'alert')).toHaveLength(0);
  expect(to(bobsPhone)).toHaveLength(0);

  const gid = orderGlobalId(order.number);
  const [apnsAlert] = to(iphone, 'alert') as [ReceivedPush];
  expect(apnsAlert.httpVersion).toBe('2.0');
  expect(apnsAlert.headers).toMatchObject({ 'apns-push-type': 'alert', 'apns-priority': '10', 'apns-topic': 'com.example.shop', 'apns-collapse-id': `order:${gid}` });
  expect(apnsAlert.headers['apns-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(apnsAlert.body).toEqual({
    aps: { alert: { 'title-loc-key': 'ORDER_UPDATED_TITLE', 'loc-key': 'ORDER_UPDATED_BODY' }, sound: 'default', 'thread-id': `order:${gid}` },
    orderId: gid,
    deepLink: `mobilebff://orders/${gid}`,
    pushId: apnsAlert.pushId,
  });
  const [apnsPoke] = to(ipad, 'poke') as [ReceivedPush];
  expect(apnsPoke.headers).toMatchObject({ 'apns-push-type': 'background', 'apns-priority': '5' });
  expect(apnsPoke.body).toEqual({ aps: { 'content-available': 1 }, sync: 'orders', pushId: apnsPoke.pushId });

  const [fcmAlert] = to(pixel, 'alert') as [ReceivedPush];
  expect(fcmAlert.httpVersion).toBe('2.0');
  expect(fcmAlert.body.message).toEqual({
    token: pixel,
    android: { priority: 'HIGH', notification: { title_loc_key: 'ORDER_UPDATED_TITLE', body_loc_key: 'ORDER_UPDATED_BODY', tag: `order:${gid}` } },
    data: { pushId: fcmAlert.pushId, kind: 'alert', orderId: gid, deepLink: `mobilebff://orders/${gid}` },
  });
  const [fcmPoke] = to(pixel, 'poke') as [ReceivedPush];
  expect(fcmPoke.body.message).toEqual({ token: pixel, android: { priority: 'NORMAL' }, data: { pushId: fcmPoke.pushId, kind: 'poke', sync: 'orders' } });

  const everything = JSON.stringify([...to(iphone), ...to(pixel), ...to(ipad)].map((p) => ({ headers: p.headers, body: p.body })));
  for (const secret of [name, email, productName, sku, alice, 'SHIPPED', 'Zebrafinch']) expect(everything).not.toContain(secret);
  for (const amount of [123457, order.totalCents]) expect(everything).not.toMatch(new RegExp(`\\b${amount}\\b`));

  const text = await metrics();
  expect(text).toMatch(/^push_sent_total\{platform="IOS",kind="alert"\} [1-9]/m);
  expect(text).toMatch(/^push_sent_total\{platform="ANDROID",kind="poke"\} [1-9]/m);
});

test('APNs 410 Unregistered and 400 BadDeviceToken, FCM 404 UNREGISTERED and 400 INVALID_ARGUMENT on the token: the device is deleted at once and never pushed again', async () => {
  const carol = `carol-${hex(4)}`;
  const gone = hex();
  const bad = hex();
  const unregistered = `fcm:${hex(40)}`;
  const invalid = `fcm:${hex(40)}`;
  const fine = hex();
  doubles.fcm.answer(invalid, { status: 400, body: { error: { code: 400, message: 'The registration token is not a valid FCM registration token', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' }] } } }, Infinity);
  doubles.apns.answer(gone, { status: 410, body: { reason: 'Unregistered', timestamp: Date.now() } }, Infinity);
  doubles.apns.answer(bad, { status: 400, body: { reason: 'BadDeviceToken' } }, Infinity);
  doubles.fcm.answer(unregistered, { status: 404, body: { error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } } }, Infinity);
  for (const [platform, token] of [['IOS', gone], ['IOS', bad], ['ANDROID', unregistered], ['ANDROID', invalid], ['IOS', fine]] as const) await register(carol, platform, token);
  const order = await placeOrder(carol);
  await setStatus(order.number, 'CONFIRMED');
  const devices = () => selectRows<{ token: string }>(system.database.db, sql`SELECT token FROM notifications.devices WHERE user_id = ${carol}`);
  await waitUntil(async () => (await devices()).length === 1, { what: 'the dead devices to be deleted' });
  expect((await devices()).map((d) => d.token)).toEqual([fine]);
  await waitUntil(() => to(fine, 'alert').length === 1, { what: 'the alert to the live device' });
  const pruned = [
    /^push_devices_pruned_total\{platform="IOS",reason="Unregistered"\} [1-9]/m,
    /^push_devices_pruned_total\{platform="IOS",reason="BadDeviceToken"\} [1-9]/m,
    /^push_devices_pruned_total\{platform="ANDROID",reason="UNREGISTERED"\} [1-9]/m,
    /^push_devices_pruned_total\{platform="ANDROID",reason="INVALID_ARGUMENT"\} [1-9]/m,
  ];
  await waitUntil(async () => {
    const text = await metrics();
    return pruned.every((p) => p.test(text));
  }, { what: 'the pruned-device counters' });
});

test('token rotation: the next change goes to the new token only', async () => {
  const dora = `dora-${hex(4)}`;
  const old = hex();
  const rotated = hex();
  const installationId = await register(dora, 'IOS', old);
  await register(dora, 'IOS', rotated, true, installationId);
  const order = await placeOrder(dora);
  await setStatus(order.number, 'CONFIRMED');
  await waitUntil(() => to(rotated, 'alert').length === 1 && to(rotated, 'poke').length === 1, { what: 'the pushes to the rotated token' });
  await barrier();
  expect(to(old)).toEqual([]);
});

test('429 and 503 are retried with the same push id, honouring Retry-After; the push arrives once', async () => {
  const erin = `erin-${hex(4)}`;
  const token = hex();
  doubles.apns.answer(token, { status: 503, body: { reason: 'ServiceUnavailable' }, headers: { 'retry-after': '1' } }, 2);
  await register(erin, 'IOS', token, true);
  const order = await placeOrder(erin);
  await setStatus(order.number, 'CONFIRMED');
  await waitUntil(() => to(token, 'alert').length === 1 && to(token, 'poke').length === 1, { what: 'the retried pushes' });
  await barrier();
  const ids = to(token).map((p) => p.pushId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(await metrics()).toMatch(/^push_failed_total\{platform="IOS",kind="(alert|poke)",reason="ServiceUnavailable"\} [1-9]/m);
});

test('the outbox retention: finished rows (sent, given up) older than PUSH_OUTBOX_RETENTION are deleted in batches; pending, retrying and recent ones stay', async () => {
  const user = `retention-${hex(4)}`;
  const days = (n: number) => sql`now() - ${`${n} days`}::interval`;
  const rows = {
    oldSent: { created: days(4), sent: days(4), failed: null, leased: null },
    oldGivenUp: { created: days(5), sent: null, failed: 'DEVICE_GONE', leased: null },
    oldPending: { created: days(4), sent: null, failed: null, leased: null },
    oldRetrying: { created: days(4), sent: null, failed: null, leased: sql`now() + interval '1 hour'` },
    recentSent: { created: days(1), sent: days(1), failed: null, leased: null },
  };
  const ids: Record<string, string> = {};
  for (const [name, r] of Object.entries(rows)) {
    ids[name] = randomUUID();
    await system.database.db.execute(
      sql`INSERT INTO notifications.push_outbox (push_id, user_id, installation_id, kind, created_at, due_at, sent_at, failed_reason, leased_until)
          VALUES (${ids[name]}, ${user}, ${`inst-${name}`}, 'alert', ${r.created}, ${r.created}, ${r.sent ?? sql`NULL`}, ${r.failed}, ${r.leased ?? sql`NULL`})`,
    );
  }
  const left = async () =>
    (await selectRows<{ push_id: string }>(system.database.db, sql`SELECT push_id FROM notifications.push_outbox WHERE user_id = ${user}`)).map((r) => r.push_id).sort();

  // One pass of the hourly job, through the service's admin route (the default retention: 3 days).
  const response = await fetch(`${system.serviceUrls.notifications}/push/outbox/purge`, { method: 'POST' });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { deleted: number }).deleted).toBeGreaterThanOrEqual(2);
  expect(await left()).toEqual([ids.oldPending, ids.oldRetrying, ids.recentSent].sort());
  expect(await metrics()).toMatch(/^push_outbox_purged_total [2-9]/m);

  // Batches: a cut-off after everything finished, one row per statement, until none is left.
  const before = await left();
  expect(await purgeFinishedPushes(system.database, { olderThan: new Date(Date.now() + 60_000), batchSize: 1 })).toBeGreaterThanOrEqual(1);
  expect(await left()).toEqual(before.filter((id) => id !== ids.recentSent));
});

test('a cancelled order: an alert and a poke; a deleted order (no route deletes one; an erasure in the database): a poke to its former owner, no alert', async () => {
  const fay = `fay-${hex(4)}`;
  const phone = hex();
  const tablet = `fcm:${hex(40)}`;
  await register(fay, 'IOS', phone);
  await register(fay, 'ANDROID', tablet);
  const cancelled = await placeOrder(fay);
  const deleted = await placeOrder(fay);
  await barrier();
  const pokesBefore = { phone: to(phone, 'poke').length, tablet: to(tablet, 'poke').length };

  const response = await fetch(`${system.serviceUrls.orders}/orders/${cancelled.number}/cancel`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: fay }) });
  expect(response.status).toBe(200);
  await waitUntil(() => to(phone, 'alert').length === 1 && to(tablet, 'alert').length === 1, { what: 'the alerts of the cancellation' });
  expect(to(phone, 'alert')[0]!.body.orderId).toBe(orderGlobalId(cancelled.number));
  await waitUntil(() => to(phone, 'poke').length > pokesBefore.phone && to(tablet, 'poke').length > pokesBefore.tablet, { what: 'the pokes of the cancellation' });
  await barrier();

  const pokesThen = { phone: to(phone, 'poke').length, tablet: to(tablet, 'poke').length };
  await system.database.db.execute(sql`DELETE FROM orders.orders WHERE number = ${deleted.number}`);
  // No bus notice for a database write: the consumer finds it on its timer (or with the barrier's notice).
  await barrier();
  await waitUntil(() => to(phone, 'poke').length > pokesThen.phone && to(tablet, 'poke').length > pokesThen.tablet, { what: 'the pokes of the deletion' });
  await barrier();
  expect(to(phone, 'alert')).toHaveLength(1);
  expect(to(tablet, 'alert')).toHaveLength(1);
  expect(JSON.stringify(to(phone).map((p) => p.body))).not.toContain(orderGlobalId(deleted.number));
});

test('status changes in a row, written in one go: an alert for each, per opted-in device, each with its own push id; a status set to what it was is none', async () => {
  const gus = `gus-${hex(4)}`;
  const phone = hex();
  const quiet = hex();
  await register(gus, 'IOS', phone);
  await register(gus, 'IOS', quiet, false);
  const order = await placeOrder(gus);
  await barrier();
  // Three changes in one transaction, then the same status again: the order row keeps only the last.
  await system.database.db.transaction(async (tx) => {
    for (const status of ['CONFIRMED', 'SHIPPED', 'DELIVERED', 'DELIVERED']) await tx.execute(sql`UPDATE orders.orders SET status = ${status}, updated_at = now() WHERE number = ${order.number}`);
  });
  await setStatus(order.number, 'DELIVERED');
  await barrier();
  await waitUntil(() => to(phone, 'alert').length >= 3, { what: 'three alerts' });
  await barrier();
  const alerts = to(phone, 'alert');
  expect(alerts).toHaveLength(3);
  expect(new Set(alerts.map((a) => a.pushId)).size).toBe(3);
  expect(alerts.every((a) => a.body.orderId === orderGlobalId(order.number))).toBe(true);
  expect(to(quiet, 'alert')).toEqual([]);
  expect(to(quiet, 'poke').length).toBeGreaterThanOrEqual(1);
});
