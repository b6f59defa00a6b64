// End-to-end test of the web page in Chromium against the whole system behind the gateway
// (scripts/browser-test.sh starts it and sets GATEWAY_URL). Two players in separate browser contexts:
// A plays action X through the page, B watches the live board and must see A's new score.
//
// Waits are bounded (WAIT_MS); no test asserts how long anything took.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const GATEWAY_URL = process.env.GATEWAY_URL;
const WAIT_MS = 15_000;
const repo = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = `${repo}test-artifacts/`;
const suffix = randomBytes(3).toString('hex');
const userA = `a-${suffix}`;
const userB = `b-${suffix}`;
// Other players, so the board has a few rows (each plays this many rounds through the API).
const others = [
  ['ada', 3],
  ['grace', 2],
  ['linus', 2],
  ['alan', 1],
];

const testid = (id) => `[data-testid="${id}"]`;
const rowOf = (user) => `${testid('leaderboard-row')}[data-user="${user}"]`;

let browser;

before(async () => {
  assert.ok(GATEWAY_URL, 'set GATEWAY_URL to the gateway, e.g. http://127.0.0.1:8080/');
  assert.match(new URL(GATEWAY_URL).hostname, /^(127\.0\.0\.1|localhost)$/, 'the test talks to 127.0.0.1 only');
  await mkdir(artifacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
});

after(async () => {
  await browser?.close();
});

// --- the API, for setting the scene -------------------------------------------------------------------

async function call(method, path, { token, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(new URL(path, GATEWAY_URL), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json();
    // The gateway limits writes per client address, and every player here shares 127.0.0.1.
    if (response.status === 429 && attempt < 10) {
      await sleep(500);
      continue;
    }
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
    return data;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function solve(prompt) {
  const numbers = prompt.match(/\d+/g);
  assert.ok(numbers && numbers.length >= 2, `cannot read the sum in ${JSON.stringify(prompt)}`);
  return numbers.reduce((sum, n) => sum + Number(n), 0);
}

/** Plays one round through the API and returns the minted key (not redeemed). */
async function playRound(token) {
  const started = await call('POST', 'api/actions', { token, body: { kind: 'demo' } });
  await sleep(Date.parse(started.complete_after) - Date.parse(started.started_at) + 100);
  const minted = await call('POST', `api/actions/${started.action_id}/complete`, {
    token,
    body: { answer: String(solve(started.challenge.prompt)) },
  });
  return minted.key;
}

async function devToken(user) {
  return (await call('POST', 'api/dev/token', { body: { user_id: user } })).token;
}

async function seedOtherPlayers() {
  await Promise.all(
    others.map(async ([user, rounds]) => {
      const token = await devToken(user);
      for (let round = 0; round < rounds; round += 1) {
        await call('POST', 'api/scores/redeem', { token, body: { key: await playRound(token) } });
      }
    }),
  );
}

// --- pages --------------------------------------------------------------------------------------------

/** Opens the page in a fresh context; collects script errors and CSP violations. */
async function openPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, baseURL: GATEWAY_URL });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) page.problems.push(`CSP: ${message.text()}`);
  });
  await page.goto('/');
  return page;
}

async function signIn(page, user) {
  await page.fill(testid('signin-name'), user);
  await page.click(testid('signin-button'));
  await page.waitForSelector(`${testid('signed-in-user')}:text-is("${user}")`, { timeout: WAIT_MS });
}

async function waitLive(page) {
  await page.waitForSelector(`${testid('connection-state')}[data-state="live"]`, { timeout: WAIT_MS });
}

/** Waits until no board row is mid-animation, so screenshots show the settled page. */
async function settle(page) {
  await page.waitForFunction(() => !document.querySelector('.row[class*="changed-"]'), null, { timeout: WAIT_MS });
}

async function screenshot(page, name) {
  await page.screenshot({ path: `${artifacts}${name}.png` });
}

// --- the test -----------------------------------------------------------------------------------------

test('two players: A plays through the page, B sees it live', { timeout: 120_000 }, async (t) => {
  const pageA = await openPage();
  const pageB = await openPage();
  let amount;
  let scoreA;

  // B already finished a round whose key was never redeemed: the page must redeem it on sign-in.
  const tokenB = await devToken(userB);
  await playRound(tokenB);
  const seeding = seedOtherPlayers();

  await t.test('both sign in; B recovers its unredeemed key; B is live', async () => {
    await signIn(pageA, userA);
    await signIn(pageB, userB);
    await pageB.waitForSelector(`${testid('status')}:has-text("Recovered 1 unredeemed key")`, { timeout: WAIT_MS });
    await pageB.waitForSelector(`${testid('my-score')}[data-value="10"]`, { timeout: WAIT_MS });
    await waitLive(pageB);
    await waitLive(pageA);
    await seeding;
  });

  await t.test('A starts a round and a wrong answer shows the invalid_proof message', async () => {
    await pageA.click(testid('start-button'));
    const prompt = await (await pageA.waitForSelector(`${testid('challenge-prompt')}:visible`, { timeout: WAIT_MS })).textContent();
    await pageA.waitForSelector(`${testid('submit-button')}:enabled`, { timeout: WAIT_MS });
    await pageA.fill(testid('answer-input'), String(solve(prompt) + 1));
    await pageA.click(testid('submit-button'));
    const status = await pageA.waitForSelector(`${testid('status')}[data-code="invalid_proof"]`, { timeout: WAIT_MS });
    const text = await status.textContent();
    assert.match(text, /wrong/i);
    assert.match(text, /\d+ attempts? left/);
    assert.equal(await pageA.isVisible(testid('round')), true, 'the round stays open after a wrong answer');
  });

  await t.test('A answers correctly: the key is redeemed and A sees the new score and rank', async () => {
    const prompt = await pageA.textContent(testid('challenge-prompt'));
    await pageA.waitForSelector(`${testid('submit-button')}:enabled`, { timeout: WAIT_MS });
    await pageA.fill(testid('answer-input'), String(solve(prompt)));
    await pageA.click(testid('submit-button'));
    const result = await pageA.waitForSelector(`${testid('result')}:visible`, { timeout: WAIT_MS });
    const match = /^\+(\d+), your score is (\d+), rank (\d+)$/.exec((await result.textContent()).trim());
    assert.ok(match, `unexpected result line: ${await result.textContent()}`);
    amount = Number(match[1]);
    scoreA = Number(match[2]);
    assert.ok(amount > 0);
    assert.equal(scoreA, amount, "A's first round is A's whole score");
    assert.equal(await pageA.getAttribute(testid('my-score'), 'data-value'), String(scoreA));
    assert.equal(await pageA.getAttribute(testid('my-rank'), 'data-value'), match[3]);
  });

  await t.test("B's live board shows A with the right score", async () => {
    await pageB.waitForSelector(`${rowOf(userA)}[data-score="${scoreA}"]`, { timeout: WAIT_MS });
    assert.equal(await pageB.getAttribute(testid('leaderboard'), 'data-source'), 'live');
    const highlighted = await pageB.getAttribute(rowOf(userA), 'aria-current');
    assert.equal(highlighted, null, "A's row is not highlighted on B's page");
    assert.equal(await pageB.getAttribute(rowOf(userB), 'aria-current'), 'true', "B's own row is");
  });

  await t.test("A's own row is highlighted on A's page", async () => {
    const row = await pageA.waitForSelector(`${rowOf(userA)}[data-score="${scoreA}"]`, { timeout: WAIT_MS });
    assert.equal(await row.getAttribute('aria-current'), 'true');
    assert.match(await row.getAttribute('class'), /\bis-me\b/);
    const mine = await row.evaluate((li) => getComputedStyle(li).backgroundColor);
    const other = await pageA.$eval(rowOf(userB), (li) => getComputedStyle(li).backgroundColor);
    assert.notEqual(mine, other, 'the own row looks different from the others');
    await settle(pageA);
    await screenshot(pageA, 'player-a');
  });

  // From here on B's WebSocket runs through a route that forwards it to the gateway and can cut it.
  const sockets = [];
  await pageB.routeWebSocket(/\/ws$/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });

  await t.test('B reloads and converges: still signed in, live, A shown with the right score', async () => {
    await pageB.reload();
    await waitLive(pageB);
    await pageB.waitForSelector(`${rowOf(userA)}[data-score="${scoreA}"]`, { timeout: WAIT_MS });
    assert.equal(await pageB.textContent(testid('signed-in-user')), userB);
    const users = await pageB.$$eval(testid('leaderboard-row'), (rows) => rows.map((row) => row.dataset.user));
    for (const [user] of others) assert.ok(users.includes(user), `${user} is on the board`);
    const ranks = await pageB.$$eval(testid('leaderboard-row'), (rows) => rows.map((row) => Number(row.dataset.rank)));
    assert.deepEqual(ranks, ranks.map((_, i) => i + 1), 'rows are in rank order');
    await settle(pageB);
    await screenshot(pageB, 'player-b');
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await pageB.screenshot({ path: `${repo}docs/screenshot.png` });
    }
  });

  await t.test("B's page reconnects when the live connection drops, and keeps showing A", async () => {
    assert.equal(sockets.length, 1);
    await pageB.evaluate(() => {
      const state = document.querySelector('[data-testid="connection-state"]');
      window.seenStates = [];
      new MutationObserver(() => window.seenStates.push(state.dataset.state)).observe(state, { attributes: true });
    });
    sockets[0].close({ code: 1012, reason: 'restarting' });
    await pageB.waitForFunction(() => window.seenStates.includes('reconnecting'), null, { timeout: WAIT_MS });
    await waitLive(pageB);
    assert.equal(sockets.length, 2, 'one new connection');
    await pageB.waitForSelector(`${rowOf(userA)}[data-score="${scoreA}"]`, { timeout: WAIT_MS });
  });

  await t.test('with the live board unreachable, the page shows the board from the API once', async () => {
    const offline = await browser.newContext({ baseURL: GATEWAY_URL });
    const page = await offline.newPage();
    let attempts = 0;
    let boardRequests = 0;
    await page.routeWebSocket(/\/ws$/, (ws) => {
      attempts += 1;
      ws.close({ code: 1011, reason: 'unavailable' });
    });
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/api/leaderboard') boardRequests += 1;
    });
    await page.goto('/');
    await page.waitForSelector(`${testid('connection-state')}[data-state="reconnecting"]`, { timeout: WAIT_MS });
    await page.waitForSelector(`${testid('leaderboard')}[data-source="fallback"] ${rowOf(userA)}[data-score="${scoreA}"]`, {
      timeout: WAIT_MS,
    });
    assert.match(await page.textContent(testid('connection-state')), /reconnecting in \d+s/);
    // It keeps trying (with back-off) but fetches the board only once per outage.
    for (let waited = 0; attempts < 3 && waited < WAIT_MS; waited += 100) await sleep(100);
    assert.ok(attempts >= 3, `only ${attempts} connection attempts`);
    assert.equal(boardRequests, 1);
    await offline.close();
  });

  await t.test('the page fits a narrow screen', async () => {
    const phone = await openPage({ width: 390, height: 844 });
    await signIn(phone, userA);
    await waitLive(phone);
    await phone.waitForSelector(`${rowOf(userA)}[data-score="${scoreA}"]`, { timeout: WAIT_MS });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await settle(phone);
    await phone.screenshot({ path: `${artifacts}player-a-narrow.png`, fullPage: true });
    assert.deepEqual(phone.problems, []);
    await phone.context().close();
  });

  await t.test('no script errors or CSP violations', () => {
    assert.deepEqual(pageA.problems, []);
    assert.deepEqual(pageB.problems, []);
  });

  await pageA.context().close();
  await pageB.context().close();
});

test('an expired or rejected sign-in asks the player to sign in again', { timeout: 60_000 }, async () => {
  const context = await browser.newContext({ baseURL: GATEWAY_URL });
  await context.addInitScript(() => {
    if (!sessionStorage.getItem('seeded')) {
      sessionStorage.setItem('seeded', '1');
      const expires = new Date(Date.now() + 3_600_000).toISOString();
      localStorage.setItem('scoreboard.session', JSON.stringify({ user_id: 'mallory', token: 'not-a-token', expires_at: expires }));
    }
  });
  const page = await context.newPage();
  await page.goto('/');
  const status = await page.waitForSelector(`${testid('status')}[data-code="unauthorized"]`, { timeout: WAIT_MS });
  assert.match(await status.textContent(), /sign in again/i);
  await page.waitForSelector(`${testid('signin-form')}:visible`, { timeout: WAIT_MS });
  assert.equal(await page.isVisible(testid('play')), false);
  await context.close();
});
