// The browser test page in headless Chromium, against callflow servers that
// tests/browser.rs starts on localhost. Run it with `cargo test --test browser`,
// which sets:
//   CALLFLOW_URL         the server with fake but well-formed Twilio credentials
//   CALLFLOW_NO_SDK_URL  a server whose Twilio SDK is not installed
//   CALLFLOW_SIM_OFF_URL a server with SIMULATOR=off
//   CALLFLOW_ADMIN_KEY   the admin key all three hold
//   CHROMIUM             the browser to drive
//   ARTIFACTS_DIR        where the screenshots go
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromiumForTests } from './chromium.mjs';

const env = process.env;
const ready = env.CALLFLOW_URL && env.CHROMIUM;
const pinned = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url))).dependencies['@twilio/voice-sdk'];
const artifacts = env.ARTIFACTS_DIR || 'tests/artifacts';
const TEST_TIMEOUT = 90_000;

// A Tuesday morning in New York, when flows/main.yaml's office is open.
const OPEN_TUESDAY = '2026-11-24T10:30';

const browser = chromiumForTests({ ready, executablePath: env.CHROMIUM, artifacts });

/** A fresh page that records console errors and uncaught exceptions. */
async function openPage({ width = 1280, height = 900 } = {}) {
  const context = await browser().newContext({
    viewport: { width, height },
    timezoneId: 'America/New_York',
    locale: 'en-US',
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location().url || '';
    // The flow list comes from GET /flows, another issue's endpoint; until it
    // is merged the page falls back to a text field, and Chromium logs the 404.
    if (/\/flows$/.test(url) && /404/.test(message.text())) return;
    problems.push(`console: ${message.text()} (${url})`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  return { page, context, problems };
}

/** Opens the page as a newcomer does: the link with ?key= from the server's log (or, with
 * `key: null`, the bare address). */
/** The console's problems less Chromium's own line for each 401 a test expects. */
const withoutRefusals = (problems) => problems.filter((problem) => !/status of 401/.test(problem));

async function load(page, base, { key = env.CALLFLOW_ADMIN_KEY } = {}) {
  await page.goto(key ? `${base}/?key=${encodeURIComponent(key)}` : `${base}/`);
  await page.waitForSelector('body[data-ready="true"]');
}

/** Picks a flow whether the page shows a list (GET /flows) or a text field. */
async function chooseFlow(page, name) {
  const tag = await page.$eval('#flow', (field) => field.tagName);
  if (tag === 'SELECT') await page.selectOption('#flow', name);
  else await page.fill('#flow', name);
}

async function waitFor(page, waiting, step) {
  const stepSelector = step ? `[data-step="${step}"]` : '';
  await page.waitForSelector(`#now[data-waiting="${waiting}"]${stepSelector}`);
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });

test('the page loads with no console errors and the pinned Twilio SDK', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  await load(page, env.CALLFLOW_URL);
  assert.match(page.url(), /\/voice-client\.html$/, 'the link leads to the page, and the key leaves the address bar');
  const [cookie] = await context.cookies();
  assert.equal(cookie.name, 'callflow_admin');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the key');
  assert.equal(await page.isHidden('#locked'), true);
  const version = await page.evaluate(() => globalThis.Twilio && globalThis.Twilio.Device.version);
  assert.equal(version, pinned);
  assert.match(await page.textContent('#status-sdk'), new RegExp(`Twilio SDK ${pinned.replace(/\./g, '\\.')}`));
  assert.match(await page.textContent('#status-sim'), /Simulator: on/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a simulated call through flows/main.yaml: keys reach support, busy reaches voicemail', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  await load(page, env.CALLFLOW_URL);
  await chooseFlow(page, 'main');
  await page.fill('#sim-at', OPEN_TUESDAY);
  await page.uncheck('#sim-speak');
  // Start by keyboard: the page must be usable without a mouse.
  await page.focus('#sim-start');
  await page.keyboard.press('Enter');

  await waitFor(page, 'input', 'menu');
  assert.match(await page.textContent('#transcript'), /For support, press 2/);
  await page.keyboard.press('2'); // a keyboard key works as the keypad

  await waitFor(page, 'input', 'account');
  for (const key of '123456#') await page.click(`#keypad [data-key="${key}"]`);

  await waitFor(page, 'dial');
  assert.equal((await page.textContent('#dial-targets')).trim(), '+15551230002');
  assert.match(await page.textContent('#steps'), /main:check_account\s*main:support/);
  await page.click('#now button[data-outcome="busy"]');

  await waitFor(page, 'record');
  assert.match(await page.textContent('#steps'), /main:voicemail/);
  assert.match(await page.textContent('#transcript'), /Please leave a message/);
  await page.click('#sim-record');

  await waitFor(page, 'ended');
  assert.match(await page.textContent('#call-end'), /the flow hung up/);
  const webhooks = await page.$$eval('#webhooks details', (all) => all.map((d) => d.querySelector('summary').textContent));
  assert.ok(webhooks.length >= 4, `every webhook is listed: ${webhooks}`);
  assert.match(webhooks[1], /step=menu/);
  assert.match(await page.textContent('#webhooks'), /<Dial[^>]*>\s*<Number>\+15551230002<\/Number>/);
  await shot(page, 'simulated-call.png');

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow}px too wide)`);
  await shot(page, 'simulated-call-phone.png');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a gather times out for real when the caller stays silent, after the prompts are spoken', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  await load(page, env.CALLFLOW_URL);
  await chooseFlow(page, 'main');
  await page.fill('#sim-at', OPEN_TUESDAY);
  assert.equal(await page.isChecked('#sim-speak'), true, 'prompts are spoken by default');
  await page.click('#sim-start');
  await waitFor(page, 'input', 'menu');
  const started = Date.now();
  // The wait starts once the prompts are spoken (headless Chromium may have
  // no voice: the page then goes on by itself). The menu's timeout is 5 s;
  // then it says it heard nothing and asks again.
  await page.waitForFunction(() => /didn't hear anything/.test(document.querySelector('#transcript').textContent), null, { timeout: 60_000 });
  const waited = Date.now() - started;
  assert.ok(waited >= 4_000, `the page waited the gather's timeout (${waited} ms)`);
  assert.match(await page.textContent('#transcript'), /You stayed silent/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a token is fetched, a Device is created, and no route to Twilio is explained', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context } = await openPage();
  await load(page, env.CALLFLOW_URL);
  await page.click('#tab-real');
  const token = page.waitForResponse((response) => response.url().includes('/voice/token'));
  await page.click('#real-online');
  const answer = await token;
  assert.equal(answer.status(), 200);
  const body = await answer.json();
  assert.equal(body.edge, 'roaming');
  await page.waitForFunction(() => /Device created/.test(document.querySelector('#event-log').textContent));
  // Nothing here reaches Twilio: the SDK's signaling connection fails, and the
  // page says so in plain words (the SDK and Chromium log their own errors).
  await page.waitForSelector('#real-problem:not([hidden])', { timeout: 30_000 });
  const problem = await page.textContent('#real-problem');
  assert.match(problem, /Cannot reach Twilio/);
  assert.match(problem, /wss:\/\/voice-js\.roaming\.twilio\.com\/signal/);
  assert.match(problem, /Fix:/);
  assert.match(await page.textContent('#device-info'), new RegExp(`as ${body.identity}`));
  await shot(page, 'real-call.png');
  await context.close();
});

test('a broken flow edit shows its diagnostics, and the list of flows fills the picker', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  // GET /flows as the hot-reload issue defines it, with a failed reload.
  await page.route('**/flows', (route) =>
    route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify({
        version: 'ac209f2ecdc1',
        loaded_at: '2026-11-24T15:00:00Z',
        flows: [
          { name: 'main', file: 'main.yaml', description: 'Acme front desk', numbers: [], start: 'welcome', steps: [] },
          { name: 'outbound', file: 'outbound.yaml', description: null, numbers: [], start: 'dial_out', steps: [] },
        ],
        last_error: {
          at: '2026-11-24T15:05:00Z',
          report: 'error: unknown step `sales_team`\n --> main.yaml:31:18',
          diagnostics: [
            { severity: 'error', file: 'main.yaml', line: 31, column: 18, message: 'unknown step `sales_team`', help: 'did you mean `sales`?' },
          ],
        },
      }),
    }),
  );
  await load(page, env.CALLFLOW_URL);
  await page.waitForSelector('#diagnostics:not([hidden])');
  const diagnostics = await page.textContent('#diagnostics');
  assert.match(diagnostics, /main\.yaml:31:18/);
  assert.match(diagnostics, /unknown step `sales_team`/);
  assert.match(diagnostics, /did you mean `sales`\?/);
  const options = await page.$$eval('#flow option', (all) => all.map((o) => o.value));
  assert.deepEqual(options, ['', 'main', 'outbound']);
  await page.selectOption('#flow', 'outbound');
  await page.fill('#sim-from', 'client:alice');
  await page.fill('#sim-to', '+12125550143');
  await page.uncheck('#sim-speak');
  await page.click('#sim-start');
  await waitFor(page, 'dial');
  assert.equal((await page.textContent('#dial-targets')).trim(), '+12125550143');
  assert.deepEqual(problems, []);
  await context.close();
});

test('without the SDK installed the page says what to run, and simulation still works', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  await load(page, env.CALLFLOW_NO_SDK_URL);
  assert.match(await page.textContent('#status-sdk'), /not installed/);
  await page.click('#tab-real');
  assert.match(await page.textContent('#real-problem'), /npm ci/);
  assert.equal(await page.isDisabled('#real-online'), true);
  await page.click('#tab-sim');
  await chooseFlow(page, 'main');
  await page.fill('#sim-at', OPEN_TUESDAY);
  await page.uncheck('#sim-speak');
  await page.click('#sim-start');
  await waitFor(page, 'input', 'menu');
  await page.keyboard.press('1');
  await waitFor(page, 'dial');
  assert.equal((await page.textContent('#dial-targets')).trim(), '+15551230001');
  assert.deepEqual(problems, []);
  await context.close();
});

test('with SIMULATOR=off the page says simulation is off', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  await load(page, env.CALLFLOW_SIM_OFF_URL);
  assert.match(await page.textContent('#status-sim'), /Simulator: off/);
  assert.match(await page.textContent('#sim-problem'), /SIMULATOR=off/);
  assert.equal(await page.isDisabled('#sim-start'), true);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without the key the page says to open the link printed in the log', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  await load(page, env.CALLFLOW_URL, { key: null });
  await page.waitForSelector('#locked:not([hidden])');
  assert.match(await page.textContent('#locked'), /open the link with \?key= printed in the server's log/i);
  assert.match(await page.textContent('#status-sim'), /needs the key/);
  assert.equal(await page.isDisabled('#sim-start'), true);
  assert.match(await page.textContent('#flow-hint'), /admin key/);
  await page.click('#tab-real');
  const token = page.waitForResponse((response) => response.url().includes('/voice/token'));
  await page.click('#real-online');
  assert.equal((await token).status(), 401);
  await page.waitForSelector('#real-problem:not([hidden])');
  assert.match(await page.textContent('#real-problem'), /\?key= printed in the server's log/);

  assert.deepEqual(withoutRefusals(problems), []);

  // A wrong key lets nothing in either (the answer is the JSON refusal, shown as text).
  await page.goto(`${env.CALLFLOW_URL}/?key=not-the-key-0123456789`);
  assert.match(await page.textContent('body'), /not this server's admin key/);
  assert.deepEqual(await context.cookies(), []);
  await context.close();
});

test('over plain http from another host: no microphone, and the simulator only with the key', { skip: !ready && 'run through `cargo test --test browser`', timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage();
  const elsewhere = env.CALLFLOW_URL.replace('127.0.0.1', 'callflow.test');
  await load(page, elsewhere, { key: null });
  assert.equal(await page.evaluate(() => window.isSecureContext), false);
  await page.click('#tab-real');
  assert.match(await page.textContent('#real-problem'), /not served over https or localhost/);
  assert.match(await page.textContent('#real-problem'), /http:\/\/localhost:3000/);
  assert.equal(await page.isDisabled('#real-online'), true);
  await page.click('#tab-sim');
  assert.match(await page.textContent('#sim-problem'), /\?key=/);
  // The same browser, from the same place, with the link: nothing about the address matters.
  await load(page, elsewhere);
  assert.match(await page.textContent('#status-sim'), /Simulator: on/);
  assert.deepEqual(withoutRefusals(problems), []);
  await context.close();
});
