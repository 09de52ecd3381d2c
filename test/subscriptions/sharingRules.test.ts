import { parse } from 'graphql';
import { createReadCoalescer } from '../../src/bff/downstream/createReadCoalescer.js';
import type { PersistedOperation } from '../../src/bff/persisted/index.js';
import { sharedSubscriptionKey } from '../../src/bff/subscriptions/sharedSubscriptionKey.js';

const operation = (body: string, type: PersistedOperation['type'] = 'subscription') => ({ id: 'abc', name: 'Events', type, body, document: parse(body), files: [], cachePolicy: {} }) as unknown as PersistedOperation;

describe('which subscriptions may share one stream', () => {
  const live = operation('subscription Events($since: SyncToken) { orderEvents(since: $since) { syncToken } }');

  it('the same persisted subscription of the same viewer from now on: one key, whatever the variable order', () => {
    const a = sharedSubscriptionKey(live, { operationName: 'Events', variables: { since: null, x: 1, y: 2 } }, 'u1');
    const b = sharedSubscriptionKey(live, { variables: { y: 2, x: 1 } }, 'u1');
    expect(a).toBeDefined();
    expect(a).toBe(sharedSubscriptionKey(live, { variables: { since: null, y: 2, x: 1 } }, 'u1'));
    expect(b).not.toBe(a); // `since: null` given vs absent: same meaning, but not worth a special case
    expect(sharedSubscriptionKey(live, { variables: {} }, 'u2')).not.toBe(sharedSubscriptionKey(live, { variables: {} }, 'u1'));
  });

  it('never one that resumes from a position, anonymous, not a subscription, or not persisted', () => {
    expect(sharedSubscriptionKey(live, { variables: { since: 'token' } }, 'u1')).toBeUndefined();
    expect(sharedSubscriptionKey(operation('subscription Events { orderEvents(since: "token") { syncToken } }'), {}, 'u1')).toBeUndefined();
    expect(sharedSubscriptionKey(operation('subscription Events($since: SyncToken = "token") { orderEvents(since: $since) { syncToken } }'), {}, 'u1')).toBeUndefined();
    expect(sharedSubscriptionKey(operation('subscription Events($since: SyncToken = "token") { orderEvents(since: $since) { syncToken } }'), { variables: { since: null } }, 'u1')).toBeDefined();
    expect(sharedSubscriptionKey(live, {}, undefined)).toBeUndefined();
    expect(sharedSubscriptionKey(operation('query Events { __typename }', 'query'), {}, 'u1')).toBeUndefined();
    expect(sharedSubscriptionKey(undefined, {}, 'u1')).toBeUndefined();
    expect(sharedSubscriptionKey(live, { operationName: 'Other' }, 'u1')).toBeUndefined();
  });
});

describe('shared reads', () => {
  it('joins a read in flight only if it started after the caller\'s notice', async () => {
    const reads = createReadCoalescer();
    let started = 0;
    let release!: (v: string) => void;
    const start = () => {
      started++;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const noticeBefore = reads.now();
    const first = reads.read('k', noticeBefore, start);
    const joined = reads.read('k', noticeBefore, start);
    expect(started).toBe(1);
    // A notice that came after the read started: that read may miss the change, so a new one.
    const noticeAfter = reads.now();
    const fresh = reads.read('k', noticeAfter, start);
    expect(started).toBe(2);
    release('second');
    await expect(fresh).resolves.toBe('second');
    expect(joined).toBe(first);
    expect(reads.read('other', 0, () => Promise.resolve('x'))).not.toBe(first);
  });

  it('forgets a read once it settles, failed or not', async () => {
    const reads = createReadCoalescer();
    await expect(reads.read('k', 0, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(reads.size).toBe(0);
    await expect(reads.read('k', 0, () => Promise.resolve('up'))).resolves.toBe('up');
    expect(reads.size).toBe(0);
  });
});
