import { signDevToken } from '../../src/auth/index.js';
import { cursorScope, encodeCursor } from '../../src/bff/connections/connection.js';
import { byHash } from '../support/firstParty.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// Issue 13, "must show" 2: one client at the full rate limit sends every poison input for
// ATTACK_MS (30 s, as the issue asks; self-stopping) while a second user's screens keep
// succeeding and no circuit breaker opens. Load shedding is off here: on a machine shared with
// other test runs, the event loop's delay says nothing about this attack.
const ATTACK_MS = Number(process.env.ATTACK_MS ?? 30_000);
const ATTACKERS_IN_FLIGHT = 6;
const VICTIM_SCREENS = 12;

let system: TestSystem;
beforeAll(async () => {
  // A limit any machine's attacker exceeds, even one so busy that each answer takes a quarter of a
  // second (6 in flight: 24/s against 5/s), and one the victim's person's pace never reaches.
  system = await startTestSystem({ RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '10', BATCH_LIMIT: '3', OVERLOAD_EVENT_LOOP_DELAY_MS: '0' });
});
afterAll(() => system?.stop());

type Answer = { status: number; codes: string[] };

async function send(body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(system.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const parsed = (await response.json()) as { errors?: { extensions?: { code?: string } }[] } | { errors?: { extensions?: { code?: string } }[] }[];
  const errors = (Array.isArray(parsed) ? parsed : [parsed]).flatMap((r) => r.errors ?? []);
  return { status: response.status, codes: errors.map((e) => e.extensions?.code ?? 'none') };
}

it(
  'keeps serving a second user, and no breaker opens, while one client floods every poison input at its full rate',
  async () => {
    // The attacker's own token carries a NUL in its name claim.
    const attacker = { authorization: `Bearer ${await signDevToken({ sub: 'attacker', name: 'Mal\u0000lory', email: 'mallory@example.com' })}` };
    const victim = { authorization: `Bearer ${await signDevToken({ sub: 'demo' })}` };
    const badDate = encodeCursor(cursorScope('orders by createdAt desc, number desc', { user: 'attacker' }), ['not-a-timestamp', 'ORD-1']);
    const badName = encodeCursor(cursorScope('products by name, sku', {}), [7, 'SKU-0001']);
    // The three that reached a service and made it fail (issue 13) come often, the rest once a round.
    const nulSearch = byHash('CatalogPage', { search: 'x\u0000' });
    const viewer = { query: '{ viewer { id name } }' }; // answered for the NUL-claim token, sanitised
    const lateOrders = byHash('OrderList', { after: badDate });
    const poisons: unknown[] = [
      nulSearch, lateOrders, viewer, nulSearch, lateOrders, viewer, nulSearch, lateOrders, viewer,
      byHash('CatalogPage', { after: badName }),
      byHash('UpdateProfile', { input: { expectedVersion: 1, name: 'Eve\u0000' } }),
      { query: 'query($s: String) { products(first: 1, search: $s) { edges { node { name } } } }', variables: { s: 'a\ud800' } },
      { query: '{ products(first: 1, search: "\\u0000") { edges { node { name } } } }' },
      { query: 'query($t: SyncToken) { viewer { orderChanges(since: $t) { syncToken } } }', variables: { t: 'garbled!' } },
      { query: 'query($n: Int) { viewer { orders(first: $n) { edges { node { customer { orders(first: $n) { edges { node { number } } } } } } } } }', variables: { n: 100 } },
      { extensions: { persistedQuery: { version: 1, sha256Hash: { toString: 'x' } } } },
      { documentId: { toString: 1 } },
      { operationName: { toString: 1 }, query: '{ __typename }' },
      [byHash('CatalogPage', { search: '\u0000' }), byHash('OrderList', { after: badDate }), byHash('Home')],
    ];

    const deadline = Date.now() + ATTACK_MS;
    const attackerAnswers: Answer[] = [];
    // The attack lasts as long as the second user browses: at least ATTACK_MS and VICTIM_SCREENS
    // screens, so the count of screens does not depend on how fast a busy machine answers.
    let browsing = true;
    const attack = async (lane: number) => {
      for (let i = lane; browsing; i += ATTACKERS_IN_FLIGHT) attackerAnswers.push(await send(poisons[i % poisons.length], attacker));
    };

    const screens: string[] = [];
    const breakerStates = new Set<string>();
    const browse = async () => {
      for (let i = 0; Date.now() < deadline || i < VICTIM_SCREENS; i++) {
        const screen = [byHash('Home'), byHash('OrderList'), byHash('CatalogPage', { first: 5 })][i % 3]!;
        const answer = await send(screen, victim);
        screens.push(answer.status === 200 && answer.codes.length === 0 ? 'ok' : `${answer.status} ${answer.codes.join(',')}`);
        for (const service of ['users', 'catalog', 'orders'] as const) breakerStates.add(system.bff.breakerState(service));
        // A person's pace (a few screens a second), well inside the victim's own rate limit.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      browsing = false;
    };

    await Promise.all([...Array.from({ length: ATTACKERS_IN_FLIGHT }, (_, lane) => attack(lane)), browse()]);

    // The second user: every screen answered, complete.
    expect(screens.length).toBeGreaterThanOrEqual(VICTIM_SCREENS);
    expect(screens.filter((s) => s !== 'ok')).toEqual([]);
    // No breaker opened, at any point the victim looked, nor at the end (the metric too).
    expect([...breakerStates]).toEqual(['closed']);
    const metrics = await (await fetch(system.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/bff_circuit_breaker_state\{service="catalog",state="closed"\} 1/);
    expect(metrics).not.toMatch(/bff_circuit_breaker_state\{service="\w+",state="(open|half_open)"\} 1/);
    // The attacker: refused at its rate, and otherwise told what was wrong — never a 5xx, never an unmasked error.
    expect(attackerAnswers.some((a) => a.status === 429)).toBe(true);
    expect(attackerAnswers.filter((a) => a.status >= 500)).toEqual([]);
    const allowed = new Set(['BAD_USER_INPUT', 'INVALID_CURSOR', 'INVALID_SYNC_TOKEN', 'RATE_LIMITED', 'UNAUTHENTICATED']);
    expect([...new Set(attackerAnswers.flatMap((a) => a.codes))].filter((c) => !allowed.has(c))).toEqual([]);
  },
  // A busy machine answers slowly: the victim's screens may take minutes there.
  ATTACK_MS + 240_000,
);
