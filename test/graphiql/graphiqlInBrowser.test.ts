import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { signDevToken } from '../../src/auth/index.js';
import { setOrderStatus } from '../support/orders.js';
import { startTestSystem, type TestSystem } from '../support/startTestSystem.js';

// GraphiQL as a developer opens it: Debian's Chromium, headless, with every request that leaves
// the machine refused, so the page can only work from what the BFF itself serves.
const CHROMIUM = '/usr/bin/chromium';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

let system: TestSystem;
let browser: Browser;
let page: Page;
/** Requests the page tried to send off the machine (all refused). */
const offMachine: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  // As `npm start` runs it: development mode.
  system = await startTestSystem({ NODE_ENV: 'development' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage();
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'blob:' || url.protocol === 'data:' || LOOPBACK.has(url.hostname)) return route.continue();
    offMachine.push(url.href);
    return route.abort('internetdisconnected');
  });
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

const editor = () => page.locator('.graphiql-query-editor');
/** What a pane shows, with the editor's non-breaking spaces as spaces. */
const shownIn = async (selector: string) => (await page.locator(selector).innerText()).replace(/\u00a0/g, ' ');
/** Waits until the pane `selector` shows `text`. */
const waitUntilShown = (selector: string, text: string, timeout = 15_000) =>
  page.waitForFunction(([s, t]) => (document.querySelector(s!) as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ').includes(t!), [selector, text], { timeout });

/** Replaces the query editor's text as a person would: select all, type over it. */
async function typeQuery(text: string) {
  await editor().locator('.view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // insertText, not type(): the editor would close every bracket typed a second time.
  await page.keyboard.insertText(text);
}

describe('GraphiQL in a browser without network', () => {
  it('opens with the sample query and the dev token, from the BFF alone', async () => {
    await page.goto(system.url);
    await page.waitForSelector('.graphiql-query-editor .view-lines', { timeout: 30_000 });
    await waitUntilShown('.graphiql-query-editor', 'query Home {');
    expect(await shownIn('.graphiql-editor-tool')).toMatch(/"Authorization": "Bearer [\w-]+\.[\w-]+\.[\w-]+"/);
    expect(await page.title()).toBe('mobile-bff');
    expect(offMachine).toEqual([]);
  }, 60_000);

  it('runs the sample query and shows the demo user and products', async () => {
    await page.click('.graphiql-execute-button');
    await waitUntilShown('.graphiql-response', '"products"');
    const shown = await shownIn('.graphiql-response');
    expect(shown).toContain('"name": "Demo User"');
    expect(shown).toContain('"currency": "EUR"');
    expect(shown).not.toContain('"errors"');
    expect(offMachine).toEqual([]);
  }, 30_000);

  it('streams a subscription: an order changed by the orders service shows in the result pane', async () => {
    // Start from where the demo user's feed stands now, so the event cannot be missed however
    // long the stream takes to open.
    const changes = await system.gql('{ viewer { orderChanges(first: 1000) { syncToken hasMore updated { number } } } }', {}, { as: 'demo' });
    const { syncToken, hasMore, updated } = changes.body.data.viewer.orderChanges;
    expect(hasMore).toBe(false);
    const number: string = updated[0].number;

    await typeQuery(`subscription Events { orderEvents(since: "${syncToken}") { order { number status } } }`);
    // GraphiQL takes the editor's text a moment later; the tab's title shows when it has.
    await waitUntilShown('.graphiql-tabs', 'Events');
    const streamRequest = page.waitForRequest((r) => r.method() === 'GET' && new URL(r.url()).searchParams.has('query'));
    await page.click('.graphiql-execute-button');
    // Server-sent events over GET, carrying the header the CSRF rule asks of every GET.
    const sent = (await streamRequest).headers();
    expect(sent.accept).toContain('text/event-stream');
    expect(sent['apollo-require-preflight']).toBe('true');

    await setOrderStatus(system, number, 'DELIVERED');
    await waitUntilShown('.graphiql-response', '"status": "DELIVERED"');
    expect(await shownIn('.graphiql-response')).toContain(`"number": "${number}"`);
    // The same stream, still open, shows the next change too.
    await setOrderStatus(system, number, 'CANCELLED');
    await waitUntilShown('.graphiql-response', '"status": "CANCELLED"');
    expect(offMachine).toEqual([]);
  }, 60_000);
});

describe('the GraphiQL page', () => {
  const tokenOnPage = async () => {
    const html = await (await fetch(system.url, { headers: { accept: 'text/html' } })).text();
    const token = /Bearer ([\w-]+\.[\w-]+\.[\w-]+)/.exec(html)?.[1];
    if (!token) throw new Error('no dev token on the GraphiQL page');
    return token;
  };

  it('carries a dev token signed for this page load, valid for a day', async () => {
    const before = Math.floor(Date.now() / 1000);
    const [first, second] = [await tokenOnPage(), await tokenOnPage()];
    expect(first).not.toBe(second);
    const claims = decodeJwt(second);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(claims.exp! - claims.iat!).toBe(24 * 3600);
    const answer = await fetch(system.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${second}` }, body: JSON.stringify({ query: '{ viewer { id } }' }) });
    expect(((await answer.json()) as { errors?: unknown }).errors).toBeUndefined();
  });

  it('still refuses a GET subscription without the preflight header (CSRF rule unchanged)', async () => {
    const url = `${system.url}?query=${encodeURIComponent('subscription { orderEvents { order { number } } }')}`;
    const response = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${await signDevToken()}` } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Apollo-Require-Preflight');
  });
});
