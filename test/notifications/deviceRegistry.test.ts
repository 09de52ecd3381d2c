import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { selectRows } from '../../src/db/index.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// The device registry through the graph: registerDevice / unregisterDevice / User.devices, served
// by the notifications service over real HTTP, stored in its own tables.

const REGISTER = /* GraphQL */ `
  mutation($input: RegisterDeviceInput!) {
    registerDevice(input: $input) {
      device { installationId platform appVersion locale notifyOrderUpdates updatedAt }
      userErrors { code message field }
    }
  }
`;
const UNREGISTER = /* GraphQL */ `
  mutation($input: UnregisterDeviceInput!) {
    unregisterDevice(input: $input) { installationId userErrors { code message field } }
  }
`;
const DEVICES = /* GraphQL */ `
  query { viewer { id devices { installationId platform appVersion locale notifyOrderUpdates updatedAt } } }
`;

const freshSub = (name: string) => `${name}-${randomBytes(6).toString('hex')}`;
const apnsToken = () => randomBytes(32).toString('hex');

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(async () => {
  await system?.stop();
});

/** What the registry holds, tokens included (the graph never shows them). */
async function stored(userId: string) {
  return selectRows<{ installation_id: string; platform: string; token: string; notify_order_updates: boolean }>(
    system.database.db,
    sql`SELECT installation_id, platform, token, notify_order_updates FROM notifications.devices WHERE user_id = ${userId} ORDER BY installation_id`,
  );
}

test('registerDevice stores the device; User.devices lists it without its token; the schema has no way to read a token back', async () => {
  const alice = freshSub('alice');
  const token = apnsToken();
  const installationId = randomUUID();
  const { body } = await system.gql(REGISTER, { input: { installationId, platform: 'IOS', token, appVersion: '3.2.1', locale: 'pt-BR' } }, { as: alice });
  expect(body.errors).toBeUndefined();
  expect(body.data.registerDevice).toEqual({
    device: { installationId, platform: 'IOS', appVersion: '3.2.1', locale: 'pt-BR', notifyOrderUpdates: true, updatedAt: expect.any(String) },
    userErrors: [],
  });
  const listed = await system.gql(DEVICES, {}, { as: alice });
  expect(listed.body.data.viewer.devices).toEqual([body.data.registerDevice.device]);
  expect(JSON.stringify(listed.body)).not.toContain(token);
  const fields = await system.gql(`{ __type(name: "Device") { fields { name } } }`);
  expect(fields.body.data.__type.fields.map((f: { name: string }) => f.name)).not.toContain('token');
  expect(await stored(alice)).toEqual([{ installation_id: installationId, platform: 'IOS', token, notify_order_updates: true }]);
});

test('registering again is naturally idempotent per (viewer, installation): no key needed, one device; a new token replaces the old one', async () => {
  const bob = freshSub('bob');
  const installationId = randomUUID();
  const first = apnsToken();
  for (let i = 0; i < 3; i++) {
    const { body } = await system.gql(REGISTER, { input: { installationId, platform: 'ANDROID', token: first } }, { as: bob });
    expect(body.data.registerDevice.userErrors).toEqual([]);
  }
  expect(await stored(bob)).toEqual([{ installation_id: installationId, platform: 'ANDROID', token: first, notify_order_updates: true }]);

  const rotated = apnsToken();
  const { body } = await system.gql(REGISTER, { input: { installationId, platform: 'ANDROID', token: rotated, notifyOrderUpdates: false } }, { as: bob });
  expect(body.data.registerDevice.device.notifyOrderUpdates).toBe(false);
  expect(await stored(bob)).toEqual([{ installation_id: installationId, platform: 'ANDROID', token: rotated, notify_order_updates: false }]);

  // A second installation is a second device.
  await system.gql(REGISTER, { input: { installationId: `${installationId}-tablet`, platform: 'IOS', token: apnsToken() } }, { as: bob });
  const listed = await system.gql(DEVICES, {}, { as: bob });
  expect(listed.body.data.viewer.devices).toHaveLength(2);
});

test('a token registered by another user moves to that user', async () => {
  const carol = freshSub('carol');
  const dave = freshSub('dave');
  const token = apnsToken();
  await system.gql(REGISTER, { input: { installationId: 'shared-phone', platform: 'IOS', token } }, { as: carol });
  await system.gql(REGISTER, { input: { installationId: 'shared-phone', platform: 'IOS', token } }, { as: dave });
  expect(await stored(carol)).toEqual([]);
  expect(await stored(dave)).toEqual([{ installation_id: 'shared-phone', platform: 'IOS', token, notify_order_updates: true }]);
  expect((await system.gql(DEVICES, {}, { as: carol })).body.data.viewer.devices).toEqual([]);
  // A reinstall (new installation id, same token) moves it too: one token, one device.
  await system.gql(REGISTER, { input: { installationId: 'reinstalled', platform: 'IOS', token } }, { as: dave });
  expect((await stored(dave)).map((d) => d.installation_id)).toEqual(['reinstalled']);
});

test('unregisterDevice removes the viewer\'s device only, and succeeds for an unknown one', async () => {
  const erin = freshSub('erin');
  const frank = freshSub('frank');
  await system.gql(REGISTER, { input: { installationId: 'same-id', platform: 'IOS', token: apnsToken() } }, { as: erin });
  await system.gql(REGISTER, { input: { installationId: 'same-id', platform: 'IOS', token: apnsToken() } }, { as: frank });
  const { body } = await system.gql(UNREGISTER, { input: { installationId: 'same-id' } }, { as: erin });
  expect(body.data.unregisterDevice).toEqual({ installationId: 'same-id', userErrors: [] });
  expect(await stored(erin)).toEqual([]);
  expect(await stored(frank)).toHaveLength(1);
  const again = await system.gql(UNREGISTER, { input: { installationId: 'same-id' } }, { as: erin });
  expect(again.body.data.unregisterDevice.userErrors).toEqual([]);
});

test('bad input: an empty or oversized token and other bad fields are user errors; an unknown platform is BAD_USER_INPUT; nothing stored', async () => {
  const gina = freshSub('gina');
  const cases: [Record<string, unknown>, string][] = [
    [{ token: '' }, 'token'],
    [{ token: 'x'.repeat(4097) }, 'token'],
    [{ token: 'has spaces in it' }, 'token'],
    [{ installationId: '' }, 'installationId'],
    [{ installationId: 'i'.repeat(256) }, 'installationId'],
    [{ appVersion: 'v'.repeat(65) }, 'appVersion'],
    [{ locale: 'l'.repeat(36) }, 'locale'],
  ];
  for (const [change, field] of cases) {
    const { status, body } = await system.gql(REGISTER, { input: { installationId: 'i1', platform: 'IOS', token: apnsToken(), ...change } }, { as: gina });
    expect(status).toBe(200);
    expect(body.data.registerDevice.device).toBeNull();
    expect(body.data.registerDevice.userErrors).toEqual([{ code: 'INVALID_INPUT', message: expect.any(String), field: [field] }]);
  }
  const platform = await system.gql(REGISTER, { input: { installationId: 'i1', platform: 'WINDOWS_PHONE', token: apnsToken() } }, { as: gina });
  expect(platform.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(await stored(gina)).toEqual([]);
});

test('without a token: UNAUTHENTICATED', async () => {
  const { body } = await system.gql(REGISTER, { input: { installationId: 'i1', platform: 'IOS', token: apnsToken() } });
  expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
});
