// The page's diagram of the chosen flow in headless Chromium, against callflow
// servers that tests/browser.rs starts on localhost. Run it with
// `cargo test --test browser`, which sets:
//   CALLFLOW_URL             a server that checks Twilio's signatures with CALLFLOW_AUTH_TOKEN,
//                            its clock on a Tuesday morning when flows/main.yaml is open
//   CALLFLOW_NO_DIAGRAM_URL  a server whose diagram library is not installed
//   CALLFLOW_AUTH_TOKEN      the auth token the first one checks signatures with
//   CALLFLOW_ADMIN_KEY       the admin key both hold
//   CHROMIUM                 the browser to drive
//   ARTIFACTS_DIR            where the screenshots go
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromiumForTests } from './chromium.mjs';

const env = process.env;
const ready = env.CALLFLOW_URL && env.CHROMIUM;
const skip = !ready && 'run through `cargo test --test browser`';
const artifacts = env.ARTIFACTS_DIR || 'tests/artifacts';
const TEST_TIMEOUT = 90_000;
const MAIN = readFileSync(new URL('../../flows/main.yaml', import.meta.url), 'utf8');
/** The steps of flows/main.yaml, and the line each starts on. */
const MAIN_STEPS = MAIN.split('\n')
  .map((line, i) => [/^ {2}([A-Za-z0-9_-]+):\s*$/.exec(line), i + 1])
  .filter(([match]) => match)
  .map(([match, line]) => ({ name: match[1], line }));

const browser = chromiumForTests({ ready, executablePath: env.CHROMIUM, artifacts });

async function openPage(base, { width = 1280, height = 1000 } = {}) {
  const context = await browser().newContext({ viewport: { width, height }, timezoneId: 'America/New_York', locale: 'en-US' });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  await page.goto(`${base}/?key=${encodeURIComponent(env.CALLFLOW_ADMIN_KEY)}`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, context, problems };
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });
const diagramOf = (page, flow) => page.waitForSelector(`#diagram[data-flow="${flow}"] svg`);
const attribute = (page, selector, name) => page.$eval(selector, (node, n) => node.getAttribute(n), name);

/** The steps lit, in the order the page numbered them. */
const litInOrder = (page) =>
  page.$$eval('#diagram .node.visited[data-step]', (nodes) =>
    nodes.sort((a, b) => Number(a.dataset.order) - Number(b.dataset.order)).map((node) => node.dataset.step));

// ---- Twilio's side of a real call, signed as Twilio signs ---------------------

function sign(url, params) {
  const data = Object.keys(params).sort().map((name) => name + params[name]).join('');
  return createHmac('sha1', env.CALLFLOW_AUTH_TOKEN).update(url + data).digest('base64');
}

async function post(url, params, { signed = true } = {}) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (signed) headers['X-Twilio-Signature'] = sign(url, params);
  const response = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params) });
  return { status: response.status, twiml: await response.text() };
}

/** A call as Twilio places it: the first webhook to /voice, then each answer
 * posted to the action URL of the TwiML before it. */
async function realCall(sid, answers) {
  const call = { CallSid: sid, AccountSid: 'AC0123456789abcdef0123456789abcdef', From: '+15551112222', To: '+15553334444', Direction: 'inbound', CallStatus: 'in-progress' };
  let { status, twiml } = await post(`${env.CALLFLOW_URL}/voice`, call);
  assert.equal(status, 200, twiml);
  for (const answer of answers) {
    const actions = [...twiml.matchAll(/action="([^"]+)"/g)];
    assert.ok(actions.length, `the call waits for an answer: ${twiml}`);
    const action = actions[actions.length - 1][1].replaceAll('&amp;', '&');
    ({ status, twiml } = await post(new URL(action, env.CALLFLOW_URL).toString(), { ...call, ...answer }));
    assert.equal(status, 200, twiml);
  }
  return twiml;
}

// ---- the tests ----------------------------------------------------------------

test('the diagram has a node for every step of the chosen flow, shaped by what it does', { skip, timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage(env.CALLFLOW_URL);
  // Routing as Twilio would shows main, the flow a call to an unknown number gets.
  await diagramOf(page, 'main');
  const steps = await page.$$eval('#diagram svg .node[data-step]', (nodes) => nodes.map((node) => node.dataset.step));
  assert.deepEqual([...steps].sort(), MAIN_STEPS.map((step) => step.name).sort());
  assert.equal(await attribute(page, '.node[data-step="menu"]', 'data-shape'), 'waits');
  assert.equal(await attribute(page, '.node[data-step="voicemail"]', 'data-shape'), 'waits');
  assert.equal(await attribute(page, '.node[data-step="sales"]', 'data-shape'), 'dial');
  assert.equal(await attribute(page, '.node[data-step="office_hours"]', 'data-shape'), 'choice');
  assert.equal(await attribute(page, '.node[data-node="n_hangup"]', 'data-shape'), 'ends');
  // Each step drawn is a shape with its name in it, and the arrows are labelled as in the flow.
  assert.equal(await page.$$eval('#diagram .node[data-step] .shape', (shapes) => shapes.length), MAIN_STEPS.length);
  assert.equal(await page.textContent('#diagram .node[data-step="check_account"] .name'), 'check_account');
  const labels = await page.$$eval('#diagram .edge-label text', (texts) => texts.map((t) => t.textContent));
  for (const label of ['open', 'closed', '1, sales', 'busy, no-answer, failed', 'otherwise']) assert.ok(labels.includes(label), `${label} in ${labels}`);
  await shot(page, 'diagram-before.png');

  await page.selectOption('#flow', 'outbound');
  await diagramOf(page, 'outbound');
  assert.ok(await page.$$eval('#diagram .node[data-step]', (nodes) => nodes.length) > 0);
  assert.equal(await page.$('#diagram .node[data-step="menu"]'), null, "main's steps are gone");
  assert.deepEqual(problems, []);
  await context.close();
});

test('a simulated call lights its path up in order and marks the step it is at', { skip, timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage(env.CALLFLOW_URL);
  await page.selectOption('#flow', 'main');
  await diagramOf(page, 'main');
  assert.equal(await page.$$eval('#diagram .node.visited', (nodes) => nodes.length), 0);
  await page.uncheck('#sim-speak');
  await page.click('#sim-start');

  await page.waitForSelector('#now[data-waiting="input"][data-step="menu"]');
  await page.waitForSelector('#diagram .node.current[data-step="menu"]');
  assert.deepEqual(await litInOrder(page), ['welcome', 'office_hours', 'menu']);
  await page.keyboard.press('2');
  await page.waitForSelector('#now[data-waiting="input"][data-step="account"]');
  for (const key of '123456#') await page.click(`#keypad [data-key="${key}"]`);
  await page.waitForSelector('#now[data-waiting="dial"]');
  await page.waitForSelector('#diagram .node.current[data-step="support"]');
  assert.equal(await page.$$eval('#diagram .node.current', (nodes) => nodes.length), 1, 'one step is current');
  assert.equal(await attribute(page, '#diagram .node.current', 'aria-current'), 'step');
  await page.click('#now button[data-outcome="busy"]');
  await page.waitForSelector('#now[data-waiting="record"]');
  await page.click('#sim-record');
  await page.waitForSelector('#now[data-waiting="ended"]');
  await page.waitForSelector('#diagram .node.current[data-step="goodbye"]');

  assert.deepEqual(await litInOrder(page), ['welcome', 'office_hours', 'menu', 'account', 'check_account', 'support', 'voicemail', 'thanks', 'goodbye']);
  assert.ok(await page.$('#diagram .node.visited[data-node="n_hangup"]'), 'the call went on to hang up');
  const badge = await page.textContent('#diagram .node[data-step="account"] .badge text');
  assert.equal(badge, '4', 'each step shows its place on the path');
  for (const [from, to] of [['welcome', 'office_hours'], ['menu', 'account'], ['support', 'voicemail'], ['thanks', 'goodbye']]) {
    const edge = await page.$eval('#diagram', (box, [a, b]) => {
      const id = (step) => box.querySelector(`.node[data-step="${step}"]`).dataset.node;
      return box.querySelector(`.edge[data-from="${id(a)}"][data-to="${id(b)}"]`).classList.contains('visited');
    }, [from, to]);
    assert.ok(edge, `the arrow ${from} → ${to} is lit`);
  }
  for (const untaken of ['sales', 'after_hours', 'bad_account']) {
    assert.equal(await page.$(`#diagram .node.visited[data-step="${untaken}"]`), null, `${untaken} is not on the path`);
  }
  await shot(page, 'diagram-after.png');

  // A second call starts a new path.
  await page.click('#sim-start');
  await page.waitForSelector('#now[data-waiting="input"][data-step="menu"]');
  await page.waitForSelector('#diagram .node.current[data-step="menu"]');
  assert.deepEqual(await litInOrder(page), ['welcome', 'office_hours', 'menu']);
  await page.click('#sim-hangup');
  assert.deepEqual(problems, []);
  await context.close();
});

test('the heat map shades the steps and arrows real calls took', { skip, timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage(env.CALLFLOW_URL);
  await diagramOf(page, 'main');
  await page.check('#diagram-heat');
  await page.waitForSelector('#diagram-card[data-heat="on"]');
  // Simulated calls (the test before) are not real calls.
  assert.equal(await attribute(page, '.node[data-step="welcome"]', 'data-calls'), '0');
  await page.uncheck('#diagram-heat');

  // A caller who picks sales, answered; one who leaves a message; and a forged
  // webhook, which the server refuses and nothing counts.
  await realCall('CA00000000000000000000000000000001', [{ Digits: '1' }, { DialCallStatus: 'completed' }]);
  await realCall('CA00000000000000000000000000000002', [{ Digits: '3' }, { RecordingUrl: 'https://api.twilio.com/recording', RecordingDuration: '7', Digits: '#' }]);
  const forged = await post(`${env.CALLFLOW_URL}/voice`, { CallSid: 'CA00000000000000000000000000000003', From: '+15551112222' }, { signed: false });
  assert.equal(forged.status, 403);

  await page.check('#diagram-heat');
  await page.waitForSelector('#diagram .node[data-step="welcome"][data-calls="3"], #diagram .node[data-step="welcome"][data-calls="2"]');
  const calls = (step) => attribute(page, `.node[data-step="${step}"]`, 'data-calls');
  assert.equal(await calls('welcome'), '2');
  assert.equal(await calls('menu'), '2');
  assert.equal(await calls('sales'), '1');
  assert.equal(await calls('voicemail'), '1');
  assert.equal(await calls('support'), '0');
  assert.equal(await attribute(page, '.node[data-step="welcome"]', 'data-heat'), '1.00');
  assert.equal(await attribute(page, '.node[data-step="sales"]', 'data-heat'), '0.50');
  const fill = (step) => page.$eval(`.node[data-step="${step}"] .shape`, (shape) => shape.style.fill);
  assert.match(await fill('welcome'), /color-mix|rgb/, 'a step callers took is shaded');
  assert.equal(await fill('support'), '', 'a step no caller took is not');
  assert.equal(await page.textContent('.node[data-step="welcome"] .count'), '2');
  const edge = (from, to) =>
    page.$eval('#diagram', (box, [a, b]) => {
      const id = (step) => box.querySelector(`.node[data-step="${step}"]`).dataset.node;
      const shown = box.querySelector(`.edge[data-from="${id(a)}"][data-to="${id(b)}"]`);
      return { calls: shown.dataset.calls, hot: shown.classList.contains('hot'), width: shown.querySelector('path').style.strokeWidth };
    }, [from, to]);
  const toSales = await edge('menu', 'sales');
  assert.equal(toSales.calls, '1');
  assert.ok(toSales.hot && Number(toSales.width) > 1.5, JSON.stringify(toSales));
  const toSupport = await edge('account', 'check_account');
  assert.equal(toSupport.calls, '0');
  assert.equal(toSupport.hot, false);
  assert.equal((await edge('welcome', 'office_hours')).calls, '2');
  await shot(page, 'diagram-heat.png');

  await page.uncheck('#diagram-heat');
  assert.equal(await fill('welcome'), '', 'switched off, the shading goes');
  assert.equal(await page.$('.node[data-step="welcome"] .count'), null);
  assert.deepEqual(problems, []);
  await context.close();
});

test('clicking a step shows its YAML with file and line', { skip, timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage(env.CALLFLOW_URL);
  await diagramOf(page, 'main');
  assert.equal(await page.isHidden('#step-source'), true);
  const menu = MAIN_STEPS.find((step) => step.name === 'menu');
  await page.click('#diagram .node[data-step="menu"]');
  await page.waitForSelector('#step-source:not([hidden])');
  assert.equal(await page.textContent('#step-source-where'), `main.yaml:${menu.line}`);
  const yaml = await page.textContent('#step-source-yaml');
  assert.ok(yaml.startsWith('  menu:\n    menu:\n'), yaml);
  assert.match(yaml, /otherwise: goodbye/);
  assert.ok(MAIN.includes(yaml), 'the text is the file\'s own');
  assert.doesNotMatch(yaml, /sales:\n\s+dial:/, 'and only that step');

  // By keyboard too.
  await page.focus('#diagram .node[data-step="sales"]');
  await page.keyboard.press('Enter');
  const sales = MAIN_STEPS.find((step) => step.name === 'sales');
  await page.waitForFunction((where) => document.querySelector('#step-source-where').textContent === where, `main.yaml:${sales.line}`);
  assert.match(await page.textContent('#step-source-yaml'), /number: "\+15551230001"/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without the diagram library the page says what to run, and simulates', { skip, timeout: TEST_TIMEOUT }, async () => {
  const { page, context, problems } = await openPage(env.CALLFLOW_NO_DIAGRAM_URL);
  assert.match(await page.textContent('#diagram-note'), /npm ci/);
  assert.equal(await page.$('#diagram svg'), null);
  await page.fill('#sim-at', '2026-11-24T10:30'); // this server's clock is the real one
  await page.uncheck('#sim-speak');
  await page.click('#sim-start');
  await page.waitForSelector('#now[data-waiting="input"][data-step="menu"]');
  await page.click('#sim-hangup');
  assert.deepEqual(problems, []);
  await context.close();
});
