// The call test page: wires the two modes, the shared flow picker and the
// keypad. Simulate works with no Twilio account; Real call needs the SDK and
// Twilio credentials on the server.

import { $, api, keyProblem, setPill, showLocked, showProblem, typingInField } from './ui.js';
import { createFlowPicker } from './flows.js';
import { createSimulation } from './simulate.js';
import { createRealPhone } from './real-call.js';
import { createDiagram } from './diagram.js';

const flows = createFlowPicker();
const flash = (k) => {
  const button = document.querySelector(`#keypad [data-key="${CSS.escape(k)}"]`);
  if (!button) return;
  button.classList.add('flash');
  setTimeout(() => button.classList.remove('flash'), 150);
};
const diagram = createDiagram();
const simulation = createSimulation({ flows, flash, onState: (view) => diagram.follow(view) });
const phone = createRealPhone({ flows, flash });

// ---- modes -------------------------------------------------------------------

const tabs = [$('#tab-sim'), $('#tab-real')];

function selectMode(mode, { focus = false } = {}) {
  const real = mode === 'real';
  tabs.forEach((tab) => {
    const selected = (tab.id === 'tab-real') === real;
    tab.setAttribute('aria-selected', String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
  });
  $('#panel-sim').hidden = real;
  $('#panel-real').hidden = !real;
  $('#sim-side').hidden = real;
  $('#real-side').hidden = !real;
  $('#now-card').hidden = real;
  document.body.dataset.mode = real ? 'real' : 'sim';
  try {
    localStorage.setItem('callflow.mode', real ? 'real' : 'sim');
  } catch {
    // Storage may be off; the page works without remembering.
  }
}

tabs.forEach((tab) => {
  tab.addEventListener('click', () => selectMode(tab.id === 'tab-real' ? 'real' : 'sim'));
  tab.addEventListener('keydown', (event) => {
    if (!['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(event.key)) return;
    event.preventDefault();
    const next = tab.id === 'tab-real' ? 'sim' : 'real';
    selectMode(event.key === 'Home' ? 'sim' : event.key === 'End' ? 'real' : next, { focus: true });
  });
});

// ---- the keypad and the keyboard ---------------------------------------------

function pressKey(k) {
  const real = document.body.dataset.mode === 'real';
  if (real ? phone.key(k) : simulation.key(k)) return;
  // A key with nothing to receive it: say so instead of failing silently.
  const hint = real ? 'Keys go to the far end once a call is connected.' : 'No gather is listening for keys now.';
  $('#keypad').title = hint;
}

$('#keypad').addEventListener('click', (event) => {
  const button = event.target.closest('[data-key]');
  if (button) pressKey(button.dataset.key);
});

document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event.target)) return;
  if (/^[0-9*#]$/.test(event.key)) {
    event.preventDefault();
    pressKey(event.key);
  }
});

$('#say-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('#say-text').value.trim();
  if (!text) return;
  const refusal = simulation.say(text);
  if (refusal) showProblem($('#sim-problem'), { title: 'Nobody is listening', explanation: refusal, fix: 'Say something when the call waits at a gather that listens to speech.' });
  else $('#say-text').value = '';
});

// ---- simulate ----------------------------------------------------------------

$('#sim-form').addEventListener('submit', (event) => {
  event.preventDefault();
  simulation.start();
});
$('#sim-hangup').addEventListener('click', () => simulation.hangUp());

// ---- real calls --------------------------------------------------------------

$('#real-online').addEventListener('click', () => phone.goOnline());
$('#real-offline').addEventListener('click', () => phone.goOffline());
$('#real-form').addEventListener('submit', (event) => {
  event.preventDefault();
  phone.placeCall();
});
$('#real-hangup').addEventListener('click', () => phone.hangUp());
$('#real-mute').addEventListener('click', () => phone.toggleMute());
$('#incoming-accept').addEventListener('click', () => phone.accept());
$('#incoming-reject').addEventListener('click', () => phone.reject());

// ---- start -------------------------------------------------------------------

/** 'on', 'off', or 'locked' when this browser lacks the admin key. */
async function checkSimulator() {
  const answer = await api('GET', '/simulate');
  const pill = $('#status-sim');
  if (answer.ok && answer.json && answer.json.enabled) {
    setPill(pill, 'Simulator: on', 'ok');
    return 'on';
  }
  if (answer.status === 401) {
    setPill(pill, 'Simulator: needs the key', 'off');
    $('#sim-start').disabled = true;
    showLocked(answer);
    showProblem($('#sim-problem'), keyProblem(answer.json && answer.json.error));
    return 'locked';
  }
  const reason = answer.json && answer.json.reason ? answer.json.reason : `GET /simulate answered ${answer.status || 'nothing'}.`;
  setPill(pill, 'Simulator: off', 'off');
  $('#sim-start').disabled = true;
  showProblem($('#sim-problem'), {
    title: 'Simulation is switched off on this server',
    explanation: reason,
    fix: 'See SIMULATOR in the README. Real calls are not affected.',
  });
  return 'off';
}

async function checkSdk() {
  const sdk = await phone.loadSdk();
  const pill = $('#status-sdk');
  if (sdk.state === 'loaded') setPill(pill, `Twilio SDK ${sdk.version}`, 'ok');
  else setPill(pill, 'Twilio SDK: not installed (npm ci)', 'off');
  phone.showBlocker();
}

let saved = null;
try {
  saved = localStorage.getItem('callflow.mode');
} catch {
  saved = null;
}
selectMode(new URLSearchParams(window.location.search).get('mode') || saved || 'sim');
document.body.dataset.ready = 'loading';
// /flows needs the admin key, as the simulator does: without it, ask for a name instead.
const flowList = checkSimulator()
  .then((state) => (state === 'locked' ? flows.withhold() : flows.refresh()))
  .then(() => flows.isListed() && diagram.show(flows.value()));
// The diagram follows the flow picked (the picker is replaced when the list is read again).
$('#flow-slot').addEventListener('change', () => flows.isListed() && diagram.show(flows.value()));
Promise.all([flowList, checkSdk()]).finally(() => {
  document.body.dataset.ready = 'true';
});
window.addEventListener('focus', () => flows.isListed() && flows.refresh().then(() => diagram.show(diagram.shownFlow() || flows.value())));
