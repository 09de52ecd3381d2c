import { generateKeyPair, createPrivateKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Bus } from '../../bus/index.js';
import type { DevicePlatform } from '../../contracts/index.js';
import type { Database } from '../../db/index.js';
import { createApnsTransport } from './createApnsTransport.js';
import { createFcmTransport, type FcmServiceAccount } from './createFcmTransport.js';
import { createOrderPushConsumer } from './createOrderPushConsumer.js';
import type { PushMetrics } from './createPushMetrics.js';
import { createPushSender } from './createPushSender.js';
import { purgeFinishedPushes } from './purgeFinishedPushes.js';
import { createApnsStandIn, createFcmStandIn, describePush, type PushStandIn } from './createPushStandIns.js';
import type { PushConfig } from './PushConfig.js';
import type { PushTransport } from './PushTransport.js';

export interface PushSendingOptions {
  database: Database;
  bus: Bus;
  config: PushConfig;
  /** Base URL of the orders service. */
  ordersUrl: string;
  metrics: PushMetrics;
  logger: Logger;
}

/** A loop that runs `step` until it says it is done, then sleeps until woken or `idleMs`. */
function createLoop(name: string, step: () => Promise<boolean>, idleMs: () => Promise<number>, logger: Logger) {
  let stopped = false;
  let wake: (() => void) | undefined;
  let woken = false;
  const done = (async () => {
    while (!stopped) {
      let more = false;
      try {
        more = await step();
      } catch (error) {
        logger.warn({ err: error }, `push ${name}: will try again`);
      }
      if (more || stopped) continue;
      if (woken) {
        woken = false;
        continue;
      }
      const ms = await idleMs().catch(() => 1000);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();
  return {
    wake() {
      if (wake) wake();
      else woken = true;
    },
    async stop() {
      stopped = true;
      wake?.();
      await done;
    },
  };
}

/**
 * The stand-ins' signing keys (they check no signature): one pair per process, generated (off the
 * event loop) when the first push is sent. A 2048-bit RSA key takes about half a second of CPU,
 * which every start of the system paid again (the test suite starts it over a hundred times, and
 * most of those starts send no push).
 */
let standInKeys: Promise<{ apns: KeyObject; fcmPem: string }> | undefined;
function standInSigningKeys() {
  if (!standInKeys) {
    standInKeys = (async () => {
      const [ec, rsa] = await Promise.all([promisify(generateKeyPair)('ec', { namedCurve: 'P-256' }), promisify(generateKeyPair)('rsa', { modulusLength: 2048 })]);
      return { apns: ec.privateKey, fcmPem: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    })();
    // A failed generation is tried again by the next push, not remembered.
    standInKeys.catch(() => (standInKeys = undefined));
  }
  return standInKeys;
}

/** A transport made when its first push is sent (a stand-in's, whose key is generated then). */
function onFirstSend(platform: DevicePlatform, make: () => Promise<PushTransport>): PushTransport {
  let made: Promise<PushTransport> | undefined;
  return {
    platform,
    async send(message) {
      if (!made) {
        made = make();
        made.catch(() => (made = undefined));
      }
      return (await made).send(message);
    },
    async close() {
      const transport = await made?.catch(() => undefined);
      await transport?.close();
    },
  };
}

async function transportsFor(config: PushConfig, logger: Logger) {
  const transports: Partial<Record<DevicePlatform, PushTransport>> = {};
  const standIns: PushStandIn[] = [];
  const print = (push: Parameters<typeof describePush>[0]) => logger.info(`push stand-in: ${describePush(push)}`);
  if (config.apns) {
    const { url, keyFile, keyId, teamId, topic, caFile } = config.apns;
    transports.IOS = createApnsTransport({ url, key: createPrivateKey(readFileSync(keyFile, 'utf8')), keyId, teamId, topic, timeoutMs: config.sendTimeoutMs, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) });
  } else if (config.standIns) {
    const standIn = await createApnsStandIn({ onPush: print });
    standIns.push(standIn);
    transports.IOS = onFirstSend('IOS', async () =>
      createApnsTransport({ url: standIn.url, timeoutMs: config.sendTimeoutMs, key: (await standInSigningKeys()).apns, keyId: 'DEVKEY0001', teamId: 'DEVTEAM001', topic: 'dev.mobilebff.app' }),
    );
    logger.info({ url: standIn.url }, 'APNs: no APNS_KEY_FILE; sending to an in-process stand-in that logs each push');
  } else {
    logger.warn('APNs: APNS_KEY_FILE, APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC are unset: iOS devices get no pushes');
  }
  if (config.fcm) {
    const account = JSON.parse(readFileSync(config.fcm.credentialsFile, 'utf8')) as FcmServiceAccount;
    transports.ANDROID = createFcmTransport({ url: config.fcm.url, account, timeoutMs: config.sendTimeoutMs, ...(config.fcm.caFile ? { ca: readFileSync(config.fcm.caFile, 'utf8') } : {}) });
  } else if (config.standIns) {
    const standIn = await createFcmStandIn({ onPush: print });
    standIns.push(standIn);
    transports.ANDROID = onFirstSend('ANDROID', async () =>
      createFcmTransport({ url: standIn.url, timeoutMs: config.sendTimeoutMs, account: { project_id: 'mobilebff-dev', client_email: 'push@mobilebff-dev.iam.gserviceaccount.com', private_key: (await standInSigningKeys()).fcmPem, token_uri: standIn.tokenUri } }),
    );
    logger.info({ url: standIn.url }, 'FCM: no FCM_CREDENTIALS_FILE; sending to an in-process stand-in that logs each push');
  } else {
    logger.warn('FCM: FCM_CREDENTIALS_FILE is unset: Android devices get no pushes');
  }
  return { transports, standIns };
}

/** How often the retention job looks for finished outbox rows to delete. */
const PURGE_INTERVAL_MS = 3_600_000;

/**
 * The sending side of the notifications service: the orders-feed consumer filling the outbox, one
 * sender lane per platform draining it, and the retention job deleting finished rows, each a loop;
 * bus notices and the consumer wake the lanes early, timers make sure nothing waits on a lost
 * notice. `stop()` ends every loop after its current step (a push in flight finishes and is marked).
 */
export async function startPushSending({ database, bus, config, ordersUrl, metrics, logger }: PushSendingOptions) {
  const { transports, standIns } = await transportsFor(config, logger);
  const sender = createPushSender({
    database,
    transports,
    deepLinkBase: config.deepLinkBase,
    metrics,
    logger,
    concurrency: config.sendConcurrency,
    // Longer than a send can take (access token + request, each within the timeout) plus the mark.
    leaseMs: 3 * config.sendTimeoutMs,
  });
  const lanes = sender.lanes.map((lane) =>
    createLoop(`sender ${lane}`, async () => (await sender.step(lane)) > 0, async () => Math.min(config.pollIntervalMs, (await sender.nextDueInMs(lane)) ?? config.pollIntervalMs), logger),
  );
  const wakeLanes = () => lanes.forEach((l) => l.wake());
  const consumer = createOrderPushConsumer({ database, ordersUrl: () => ordersUrl, pokeWindowMs: config.pokeWindowMs, onEnqueued: wakeLanes, onLag: (s) => metrics.lag.set(s) });
  metrics.measureLag(consumer.lagSeconds);
  // Where the consumer stands, before the service reports ready; an orders service not reachable
  // yet (its own process, starting) leaves it to the loop's first step.
  await consumer.start().catch((error: unknown) => logger.warn({ err: error }, 'push consumer: the orders feed is not reachable yet; will take its position when it is'));
  const consumerLoop = createLoop('consumer', consumer.step, async () => config.pollIntervalMs, logger);
  let stopping = false;
  /** One retention pass: deletes the finished rows past PUSH_OUTBOX_RETENTION; resolves with how many. */
  const purge = async () => {
    const deleted = await purgeFinishedPushes(database, { olderThan: new Date(Date.now() - config.outboxRetentionMs), stopped: () => stopping });
    metrics.purged.inc(deleted);
    if (deleted) logger.info({ deleted, retentionMs: config.outboxRetentionMs }, 'push outbox: deleted finished rows past the retention');
    return deleted;
  };
  const purgeLoop = createLoop('retention', async () => (await purge(), false), async () => PURGE_INTERVAL_MS, logger);
  const unsubscribe = bus.subscribe('orders', () => consumerLoop.wake());
  const unmissed = bus.onMissedMessages(() => consumerLoop.wake());
  return {
    purge,
    async stop() {
      unsubscribe();
      unmissed();
      stopping = true;
      await Promise.all([consumerLoop.stop(), purgeLoop.stop(), ...lanes.map((l) => l.stop())]);
      await Promise.all(Object.values(transports).map((t) => t.close()));
      await Promise.all(standIns.map((s) => s.close()));
    },
  };
}
