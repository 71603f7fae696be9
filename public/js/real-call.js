// Real calls through Twilio with the Voice JS SDK (window.Twilio.Device).
//
// Going online fetches a token from GET /voice/token, creates the Device with
// the edge that matches the server's region and precise signaling errors, and
// registers it so calls to this identity ring here. The token is renewed
// before it expires (tokenWillExpire → updateToken). Every SDK error is
// explained in plain words with the fix (errors.js).

import { $, el, api, showProblem } from './ui.js';
import { explainTwilioError, explainTokenFailure, insecurePage, sdkMissing, describeRegion } from './errors.js';

/** Connection failures while registering before the page stops retrying. */
const MAX_CONNECT_FAILURES = 3;

export function createRealPhone({ flows, flash }) {
  let sdk = { state: 'checking', fix: null }; // checking | loaded | missing | failed
  let device = null;
  let tokenInfo = null; // the last /voice/token answer
  let call = null; // the call in progress
  let incoming = null; // a call ringing here
  let connectFailures = 0;
  let lastFailureAt = 0; // one failed attempt brings several errors: count attempts

  const problemBox = $('#real-problem');
  const log = logger($('#event-log'));

  // ---- the SDK ---------------------------------------------------------------

  /** Loads the SDK the server serves, if it says it has it (no failed script in the console otherwise). */
  async function loadSdk() {
    const status = await api('GET', '/vendor/status');
    const info = status.ok && status.json ? status.json.twilio_sdk : null;
    if (!info || !info.installed) {
      sdk = { state: 'missing', fix: info && info.fix };
      return sdk;
    }
    await new Promise((resolve) => {
      const script = el('script', { src: info.url });
      script.onload = () => {
        sdk = window.Twilio && window.Twilio.Device ? { state: 'loaded', version: window.Twilio.Device.version } : { state: 'failed' };
        resolve();
      };
      script.onerror = () => {
        sdk = { state: 'failed' };
        resolve();
      };
      document.head.append(script);
    });
    return sdk;
  }

  /** Problems that stop real calls before any Twilio traffic, or null. */
  function blocker() {
    if (sdk.state === 'missing' || sdk.state === 'failed') return sdkMissing(sdk.fix);
    if (!window.isSecureContext) return insecurePage(window.location.origin);
    return null;
  }

  function showBlocker() {
    const problem = blocker();
    if (problem) showProblem(problemBox, problem);
    updateButtons();
  }

  // ---- tokens and the Device ------------------------------------------------

  async function fetchToken(identity) {
    const query = identity ? `?identity=${encodeURIComponent(identity)}` : '';
    const secret = $('#real-secret').value.trim();
    const headers = secret ? { Authorization: `Bearer ${secret}` } : {};
    return api('GET', `/voice/token${query}`, undefined, headers);
  }

  async function goOnline() {
    const problem = blocker();
    if (problem) {
      showProblem(problemBox, problem);
      return;
    }
    showProblem(problemBox, null);
    goOffline({ quiet: true });
    setState('fetching a token');
    const answer = await fetchToken($('#real-identity').value.trim());
    if (!answer.ok) {
      setState('offline');
      const explained = explainTokenFailure(answer.status, answer.json);
      log.error(`token: ${explained.title}`);
      showProblem(problemBox, explained);
      return;
    }
    tokenInfo = answer.json;
    log.info(`token for ${tokenInfo.identity}, region ${describeRegion(tokenInfo.region)}, edge ${tokenInfo.edge}, valid ${tokenInfo.ttl} s`);
    $('#device-info').textContent =
      `as ${tokenInfo.identity} · region ${tokenInfo.region || 'us1 (default)'} · edge ${tokenInfo.edge}`;
    connectFailures = 0;
    device = new window.Twilio.Device(tokenInfo.token, {
      edge: tokenInfo.edge,
      enableImprovedSignalingErrorPrecision: true,
      closeProtection: 'A call is in progress. Leave the page and hang up?',
    });
    wireDevice(device);
    log.info(`Device created (Twilio Voice SDK ${window.Twilio.Device.version})`);
    updateButtons();
    const registering = device;
    try {
      await registering.register();
    } catch (error) {
      // A Device given up on (Go offline, or too many failures) rejects too: that is no news.
      if (current(registering)) report(error);
    }
  }

  function goOffline({ quiet = false } = {}) {
    if (!device) return;
    const old = device;
    device = null;
    call = null;
    incoming = null;
    $('#incoming').hidden = true;
    old.destroy();
    if (!quiet) log.info('offline');
    setState('offline');
    updateButtons();
  }

  function wireDevice(d) {
    d.on('registering', () => current(d) && (setState('registering'), log.info('registering with Twilio…')));
    d.on('registered', () => {
      if (!current(d)) return;
      connectFailures = 0;
      showProblem(problemBox, null);
      setState('registered');
      log.info(`registered: calls to client:${tokenInfo.identity} ring here`);
    });
    d.on('unregistered', () => current(d) && (setState('unregistered'), log.info('unregistered')));
    d.on('destroyed', () => log.info('Device destroyed'));
    d.on('error', (error, errorCall) => current(d) && report(error, errorCall));
    d.on('incoming', (ringing) => current(d) && ring(ringing));
    d.on('tokenWillExpire', async () => {
      if (!current(d)) return;
      log.info('the token expires soon: fetching a new one');
      const answer = await fetchToken(tokenInfo.identity);
      if (answer.ok && current(d)) {
        tokenInfo = answer.json;
        d.updateToken(tokenInfo.token);
        log.info(`token renewed, valid ${tokenInfo.ttl} s`);
      } else if (current(d)) {
        const explained = explainTokenFailure(answer.status, answer.json);
        log.error(`token renewal failed: ${explained.title}`);
        showProblem(problemBox, explained);
      }
    });
  }

  const current = (d) => d === device;

  function report(error, errorCall) {
    const registering = device && device.state !== 'registered';
    const explained = explainTwilioError(error, { region: tokenInfo && tokenInfo.region, edge: tokenInfo && tokenInfo.edge, registering });
    log.error(`${explained.title}${error && error.message ? ` — ${error.message}` : ''}`);
    showProblem(problemBox, explained);
    if (errorCall && errorCall === call) endCall('error');
    if (registering && [31000, 31005, 31009, 53000, 53001].includes(Number(error && error.code))) {
      if (Date.now() - lastFailureAt > 1000) connectFailures += 1;
      lastFailureAt = Date.now();
      if (connectFailures >= MAX_CONNECT_FAILURES) {
        log.error(`stopped after ${connectFailures} failed connection attempts; press Go online to try again`);
        goOffline({ quiet: true });
        setState('stopped: Twilio unreachable');
      }
    }
  }

  // ---- calls ----------------------------------------------------------------

  async function placeCall() {
    if (!device || call) return;
    const params = {};
    const to = $('#real-to').value.trim();
    const flow = flows.value();
    if (to) params.To = to;
    if (flow) params.flow = flow;
    log.info(`calling${to ? ` ${to}` : ''}${flow ? ` with flow ${flow}` : ''}…`);
    try {
      const placed = await device.connect({ params });
      call = placed;
      wireCall(placed, 'outgoing');
    } catch (error) {
      report(error);
    }
    updateButtons();
  }

  function wireCall(c, direction) {
    c.on('ringing', () => log.info('ringing'));
    c.on('accept', () => {
      log.info(`${direction} call connected${c.parameters && c.parameters.CallSid ? ` (${c.parameters.CallSid})` : ''}`);
      updateButtons();
    });
    c.on('disconnect', () => endCall('disconnected'));
    c.on('cancel', () => endCall('cancelled'));
    c.on('reject', () => endCall('rejected'));
    c.on('error', (error) => report(error, c));
    c.on('mute', (muted) => {
      $('#real-mute').setAttribute('aria-pressed', String(muted));
      $('#real-mute').textContent = muted ? 'Unmute' : 'Mute';
      log.info(muted ? 'muted' : 'unmuted');
    });
    c.on('reconnecting', (error) => log.error(`connection trouble, reconnecting (${error && error.code})`));
    c.on('reconnected', () => log.info('reconnected'));
    c.on('warning', (name) => log.info(`call quality warning: ${name}`));
  }

  function endCall(how) {
    if (!call && !incoming) return;
    log.info(`call ${how}`);
    call = null;
    incoming = null;
    $('#incoming').hidden = true;
    $('#real-mute').setAttribute('aria-pressed', 'false');
    $('#real-mute').textContent = 'Mute';
    updateButtons();
  }

  function ring(ringing) {
    incoming = ringing;
    const from = (ringing.parameters && ringing.parameters.From) || 'an unknown caller';
    $('#incoming-from').textContent = from;
    $('#incoming').hidden = false;
    log.info(`incoming call from ${from}`);
    ringing.on('cancel', () => endCall('cancelled by the caller'));
    ringing.on('disconnect', () => endCall('disconnected'));
    ringing.on('error', (error) => report(error, ringing));
  }

  function accept() {
    if (!incoming) return;
    call = incoming;
    incoming = null;
    $('#incoming').hidden = true;
    wireCall(call, 'incoming');
    call.accept();
    updateButtons();
  }

  function reject() {
    if (!incoming) return;
    incoming.reject();
    endCall('rejected');
  }

  function hangUp() {
    if (call) call.disconnect();
    else if (device) device.disconnectAll();
  }

  function toggleMute() {
    if (call) call.mute(!call.isMuted());
  }

  /** A keypad key during a call: DTMF to the far end. */
  function key(k) {
    if (!call || call.status() !== 'open') return false;
    flash(k);
    call.sendDigits(k);
    log.info(`sent key ${k}`);
    return true;
  }

  // ---- state on the page ----------------------------------------------------

  function setState(state) {
    const badge = $('#device-state');
    badge.textContent = state;
    badge.dataset.state = state.replace(/[\s:].*/, '');
    updateButtons();
  }

  function updateButtons() {
    const blocked = blocker() !== null;
    $('#real-online').disabled = blocked;
    $('#real-offline').disabled = !device;
    $('#real-call').disabled = !device || device.state !== 'registered' || !!call;
    $('#real-hangup').disabled = !call;
    $('#real-mute').disabled = !call;
  }

  return {
    loadSdk,
    showBlocker,
    goOnline,
    goOffline: () => goOffline(),
    placeCall,
    hangUp,
    toggleMute,
    accept,
    reject,
    key,
    inCall: () => call !== null,
  };
}

/** The event log: time-stamped lines, with repeats folded into a count. */
function logger(list) {
  let last = null;
  const add = (level, text) => {
    if (last && last.text === text && last.level === level) {
      last.count += 1;
      last.countNode.textContent = ` (×${last.count})`;
      return;
    }
    const time = new Date().toLocaleTimeString();
    const countNode = el('span', { class: 'count' });
    list.append(el('li', { 'data-level': level }, el('time', {}, time), text, countNode));
    last = { level, text, count: 1, countNode };
    list.scrollTop = list.scrollHeight;
  };
  return { info: (text) => add('info', text), error: (text) => add('error', text) };
}
