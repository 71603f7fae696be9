// Simulated calls: the server plays Twilio's side (POST /simulate/calls), and
// this page plays the caller's: it speaks the prompts, waits at a gather with
// its real timeout, and offers the outcomes of dials and recordings.
//
// The page holds no TwiML rules of its own. Every state from the server
// carries the whole call so far; the page shows and speaks what is new by
// counting events and exchanges it has already seen.

import { $, api, el, keyProblem, showLocked, showProblem } from './ui.js';

const DIAL_CHOICES = [
  ['completed', 'Answered'],
  ['busy', 'Busy'],
  ['no-answer', 'No answer'],
  ['failed', 'Failed'],
];

export function createSimulation({ flows, flash, onState = () => {} }) {
  let call = null; // the last state from the server
  let seenEvents = 0;
  let seenExchanges = 0;
  let busy = false;
  let gather = null; // the gather waiting for the caller, with its timer
  let playback = null; // {cancelled} of the prompts being played

  const now = $('#now');
  const problemBox = $('#sim-problem');
  const startButton = $('#sim-start');
  const hangupButton = $('#sim-hangup');

  const active = () => call !== null && call.waiting.for !== 'ended' && !call.failure;

  // ---- talking to the server ------------------------------------------------

  async function start() {
    if (busy) return;
    busy = true;
    startButton.disabled = true;
    showProblem(problemBox, null);
    stopGather();
    stopPlayback();
    try {
      // Read the flows again first, so a hot-reloaded edit (or a broken one) shows now.
      await flows.refresh();
      if (call && active()) api('DELETE', `/simulate/calls/${encodeURIComponent(call.id)}`);
      const at = $('#sim-at').value;
      const body = {
        from: $('#sim-from').value.trim() || undefined,
        to: $('#sim-to').value.trim() || undefined,
        flow: flows.value() || undefined,
        at: at ? new Date(at).toISOString() : undefined,
      };
      const answer = await api('POST', '/simulate/calls', body);
      if (!answer.ok) {
        showProblem(problemBox, startProblem(answer));
        return;
      }
      resetPanels();
      call = null;
      render(answer.json);
    } finally {
      busy = false;
      startButton.disabled = false;
    }
  }

  async function act(action, value) {
    if (!call || busy) return;
    busy = true;
    stopGather();
    stopPlayback();
    setChoicesDisabled(true);
    try {
      const answer = await api('POST', `/simulate/calls/${encodeURIComponent(call.id)}`, { action, value });
      if (answer.ok) {
        showProblem(problemBox, null);
        render(answer.json);
        return;
      }
      if (answer.json && answer.json.call) render(answer.json.call);
      showProblem(problemBox, actionProblem(answer));
      if (answer.status === 404) {
        call = { ...call, failure: answer.json.error };
        renderNow();
      }
    } finally {
      busy = false;
      setChoicesDisabled(false);
    }
  }

  // ---- the caller's moves ---------------------------------------------------

  /** A key from the keypad or keyboard; false when no gather listens for keys. */
  function key(k) {
    if (!gather || !gather.dtmf || busy) return false;
    stopPlayback(); // pressing a key interrupts the prompt, as on a phone
    flash(k);
    gather.digits += k;
    const finished = gather.finishOnKey.includes(k);
    const enough = gather.numDigits && gather.digits.length >= gather.numDigits;
    if (finished || enough) {
      const digits = gather.digits;
      act('press', digits);
    } else {
      renderDigits();
      armTimer(); // Twilio waits `timeout` seconds after each key
    }
    return true;
  }

  function say(text) {
    if (!gather || busy) return 'No gather is listening now.';
    if (!gather.speech) return 'This gather listens for keys only.';
    act('say', text);
    return null;
  }

  function hangUp() {
    if (active()) act('hang_up');
  }

  // ---- showing the call -----------------------------------------------------

  function resetPanels() {
    seenEvents = 0;
    seenExchanges = 0;
    $('#transcript').replaceChildren();
    $('#steps').replaceChildren();
    $('#webhooks').replaceChildren();
  }

  function render(view) {
    call = view;
    const fresh = view.events.slice(seenEvents);
    seenEvents = view.events.length;
    for (const event of fresh) $('#transcript').append(transcriptLine(event));
    $('#steps').replaceChildren(...collapseRepeats(view.steps).map((step) => el('li', {}, step)));
    const newExchanges = view.exchanges.slice(seenExchanges);
    if (newExchanges.length) {
      // The newest TwiML is shown open; one the page opened before closes again.
      for (const open of document.querySelectorAll('#webhooks details[data-auto]')) {
        open.open = false;
        delete open.dataset.auto;
      }
      for (const exchange of newExchanges) $('#webhooks').append(webhookEntry(exchange, seenExchanges++));
      const newest = $('#webhooks').lastElementChild;
      newest.open = true;
      newest.dataset.auto = '';
      // Once the user opens or closes it, it is theirs to keep.
      newest.querySelector('summary').addEventListener('click', () => delete newest.dataset.auto, { once: true });
    }
    onState(view);
    gather = view.waiting.for === 'input' && !view.failure ? newGather(view) : null;
    hangupButton.disabled = !active();
    renderNow();
    const mine = (playback = { cancelled: false });
    playPrompts(fresh, mine).then(() => {
      if (!mine.cancelled && gather && call === view) armTimer();
    });
  }

  function newGather(view) {
    const waiting = view.waiting;
    const twiml = view.exchanges.length ? view.exchanges[view.exchanges.length - 1].twiml : '';
    const listening = [...view.events].reverse().find((e) => e.event === 'listening');
    const attrs = gatherAttributes(twiml, listening && listening.step);
    return {
      dtmf: waiting.dtmf,
      speech: waiting.speech,
      timeout: waiting.timeout,
      numDigits: waiting.num_digits || 0,
      finishOnKey: attrs.finishOnKey,
      step: listening && listening.step,
      digits: '',
      deadline: null,
      timer: null,
    };
  }

  function renderNow() {
    now.replaceChildren();
    if (!call) return;
    const waiting = call.waiting;
    now.dataset.waiting = call.failure ? 'failed' : waiting.for;
    now.dataset.step = gather && gather.step ? gather.step : '';
    if (call.failure) {
      now.append(el('p', { class: 'ended' }, 'The simulation stopped.'), el('p', {}, call.failure));
      return;
    }
    switch (waiting.for) {
      case 'input': {
        const what = [waiting.dtmf && 'keys', waiting.speech && 'speech'].filter(Boolean).join(' or ');
        const step = gather.step ? ` at step ${gather.step}` : '';
        const rules = [
          gather.numDigits ? `${gather.numDigits} digit${gather.numDigits > 1 ? 's' : ''}` : null,
          gather.finishOnKey ? `end with ${gather.finishOnKey}` : null,
          `${waiting.timeout} s timeout`,
        ].filter(Boolean).join(', ');
        now.append(
          el('p', { class: 'prompt' }, `Listening for ${what}${step}.`),
          el('p', { class: 'hint' }, waiting.dtmf ? `Press keys on the keypad (${rules}).` : `${rules}.`,
            waiting.speech ? ' Or type what you would say under Say.' : ''),
          el('p', { class: 'digits', id: 'gather-digits', 'aria-label': 'Keys pressed' }),
          el('div', { class: 'meter', 'aria-hidden': 'true' }, el('span', { id: 'gather-meter', style: 'width: 100%' })),
          el('p', { class: 'hint', id: 'gather-left' }, 'The wait starts when the prompt ends.'),
          el('div', { class: 'choices' },
            el('button', { type: 'button', id: 'sim-silence', onclick: () => act('silence') }, 'Stay silent')),
          ...(waiting.holding ? queueChoices(false, act) : []),
        );
        renderDigits();
        break;
      }
      case 'dial':
        now.append(
          el('p', { class: 'prompt' }, 'Dialling ', el('strong', { id: 'dial-targets' }, waiting.targets.join(', ')), '.'),
          el('p', { class: 'hint' }, 'How does the dial end?'),
          el('div', { class: 'choices' },
            DIAL_CHOICES.map(([outcome, label]) =>
              el('button', { type: 'button', 'data-outcome': outcome, onclick: () => act('dial_outcome', outcome) }, label))),
          ...(waiting.whisper ? [
            el('p', { class: 'hint' }, 'Or the callee answers and hears the whisper:'),
            el('div', { class: 'choices' },
              CALLEE_CHOICES.map(([answer, label]) =>
                el('button', { type: 'button', 'data-callee': answer, onclick: () => act('callee', answer) }, label))),
          ] : []),
        );
        break;
      case 'queue':
        now.append(
          el('p', { class: 'prompt' }, 'Waiting in queue ', el('strong', { id: 'queue-name' }, waiting.queue), '.'),
          ...queueChoices(true, act),
        );
        break;
      case 'record':
        now.append(
          el('p', { class: 'prompt' }, 'Recording a message.'),
          el('div', { class: 'choices' },
            el('button', { type: 'button', id: 'sim-record', class: 'primary', onclick: () => act('record') }, 'Leave a message'),
            el('button', { type: 'button', class: 'danger', onclick: () => act('hang_up') }, 'Hang up')),
        );
        break;
      case 'agent':
        now.append(
          el('p', { class: 'prompt' }, 'Connected to ', el('strong', { id: 'agent-url' }, waiting.url), '.'),
          el('p', { class: 'hint' }, 'How does the session end? Handoff data is the JSON the agent hands over, such as {"reason": "billing"}.'),
          el('input', { type: 'text', id: 'agent-handoff', 'aria-label': 'Handoff data (JSON)', placeholder: '{"reason": "billing"}' }),
          el('div', { class: 'choices' },
            el('button', { type: 'button', id: 'sim-agent-ends', class: 'primary', onclick: () => act('agent_ends', document.getElementById('agent-handoff').value) }, 'Agent hands over'),
            el('button', { type: 'button', id: 'sim-agent-fails', onclick: () => act('agent_fails') }, 'Session fails')),
        );
        break;
      case 'ended':
        now.append(
          el('p', { class: 'ended', id: 'call-end' }, `Call ended: ${describeEnd(waiting.end)}.`),
          el('p', { class: 'hint' }, `${call.steps.length} steps, ${call.exchanges.length} webhooks.`),
          el('div', { class: 'choices' },
            el('button', { type: 'button', class: 'primary', onclick: () => start() }, 'Simulate again')),
        );
        break;
      default:
        now.append(el('p', {}, JSON.stringify(waiting)));
    }
  }

  function renderDigits() {
    const box = $('#gather-digits');
    if (box && gather) box.textContent = gather.digits || '\u00a0';
  }

  function setChoicesDisabled(disabled) {
    for (const button of now.querySelectorAll('button')) button.disabled = disabled;
  }

  // ---- the gather's timeout ------------------------------------------------

  function armTimer() {
    if (!gather) return;
    clearInterval(gather.timer);
    const total = gather.timeout * 1000;
    gather.deadline = Date.now() + total;
    const tick = () => {
      if (!gather) return;
      const left = Math.max(0, gather.deadline - Date.now());
      const meter = $('#gather-meter');
      if (meter) meter.style.width = `${(100 * left) / total}%`;
      const label = $('#gather-left');
      if (label) label.textContent = `${Math.ceil(left / 1000)} s left`;
      if (left === 0) {
        clearInterval(gather.timer);
        const digits = gather.digits;
        if (digits) act('press', digits);
        else act('silence');
      }
    };
    gather.timer = setInterval(tick, 200);
    tick();
  }

  function stopGather() {
    if (gather) clearInterval(gather.timer);
  }

  // ---- sound ---------------------------------------------------------------

  function stopPlayback() {
    if (playback) playback.cancelled = true;
    if (window.speechSynthesis) window.speechSynthesis.cancel();
    for (const audio of document.querySelectorAll('audio[data-sim]')) {
      audio.pause();
      audio.remove();
    }
  }

  async function playPrompts(events, mine) {
    const aloud = $('#sim-speak').checked;
    for (const event of events) {
      if (mine.cancelled || !aloud) return;
      if (event.event === 'heard') await speak(event.text, mine);
      else if (event.event === 'played') await playAudio(event.url, mine);
      else if (event.event === 'paused') await wait(event.seconds * 1000, mine);
    }
  }

  return { start, act, key, say, hangUp, active, stop: () => { stopGather(); stopPlayback(); } };
}

/**
 * Speaks a line; resolves when it has been said. A browser without a voice
 * never starts speaking, so the page goes on after two seconds without one.
 */
function speak(text, mine) {
  if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) return Promise.resolve();
  return new Promise((resolve) => {
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = document.documentElement.lang || 'en-US';
    const timers = [];
    const done = () => {
      timers.forEach((t) => clearTimeout(t)); // timeouts and intervals share one list of ids
      resolve();
    };
    timers.push(setTimeout(done, 2000)); // never started: no voice here
    timers.push(setTimeout(done, 2000 + 1000 * text.split(/\s+/).length)); // a stuck engine
    timers.push(setInterval(() => mine.cancelled && done(), 100));
    utterance.onstart = () => clearTimeout(timers[0]);
    utterance.onend = done;
    utterance.onerror = done;
    window.speechSynthesis.speak(utterance);
  });
}

function playAudio(url, mine) {
  if (!/^(https?:\/\/|\/)/.test(url)) return Promise.resolve();
  return new Promise((resolve) => {
    const audio = el('audio', { 'data-sim': '', src: url, hidden: true });
    document.body.append(audio);
    const done = () => {
      clearInterval(watch);
      audio.remove();
      resolve();
    };
    const watch = setInterval(() => mine.cancelled && done(), 100);
    audio.onended = done;
    audio.onerror = done;
    audio.play().catch(done);
  });
}

function wait(ms, mine) {
  return new Promise((resolve) => {
    const started = Date.now();
    const watch = setInterval(() => {
      if (mine.cancelled || Date.now() - started >= ms) {
        clearInterval(watch);
        resolve();
      }
    }, 100);
  });
}

/** finishOnKey of the gather the call waits at, read from the TwiML it came in. */
function gatherAttributes(twiml, step) {
  const fallback = { finishOnKey: '#' };
  if (!twiml) return fallback;
  const doc = new DOMParser().parseFromString(twiml, 'application/xml');
  const gathers = [...doc.getElementsByTagName('Gather')];
  const stepOf = (g) => {
    const action = g.getAttribute('action') || '';
    const query = action.includes('?') ? action.slice(action.indexOf('?') + 1) : '';
    return new URLSearchParams(query).get('step');
  };
  const gather = gathers.find((g) => step && stepOf(g) === step) || gathers[0];
  if (!gather) return fallback;
  const finish = gather.getAttribute('finishOnKey');
  return { finishOnKey: finish === null ? '#' : finish };
}

/** What can happen to a caller in a queue, each button playing it through
 * `act`; `hold` plays the hold steps (again), which only makes sense between
 * two rounds of them. */
function queueChoices(between, act) {
  return [
    el('p', { class: 'hint' }, between ? 'Hold on (the hold steps play), or the wait ends:' : 'Or the wait in the queue ends:'),
    el('div', { class: 'choices' },
      QUEUE_CHOICES.filter(([event]) => between || event !== 'hold').map(([event, label]) =>
        el('button', { type: 'button', 'data-queue': event, onclick: () => act('queue', event) }, label))),
  ];
}

const QUEUE_CHOICES = [
  ['hold', 'Hold on'],
  ['bridged', 'An agent answers'],
  ['full', 'Queue is full'],
  ['hangup', 'Hang up while holding'],
  ['error', 'Queue error'],
];

const CALLEE_CHOICES = [
  ['accepts', 'Callee accepts (presses 1)'],
  ['declines', 'Callee declines'],
  ['silent', 'Callee stays silent'],
];

function describeAction(caller) {
  const value = caller.value;
  switch (caller.action) {
    case 'press': return `You pressed ${value}`;
    case 'say': return `You said “${value}”`;
    case 'silence': return 'You stayed silent';
    case 'dial_outcome': return `The dial ended: ${value}`;
    case 'record': return 'You left a message';
    case 'agent_ends': return value ? `The agent handed over: ${value}` : 'The agent ended the session';
    case 'agent_fails': return 'The agent session failed';
    case 'queue': return value === 'hold' ? 'You held on' : `The wait in the queue ended: ${value}`;
    case 'callee': return `The callee ${value}`;
    case 'hang_up': return 'You hung up';
    default: return JSON.stringify(caller);
  }
}

export function describeEnd(end) {
  switch (end && end.how) {
    case 'hangup': return 'the flow hung up';
    case 'rejected': return `the flow rejected the call (${end.detail})`;
    case 'end_of_twiml': return 'no more TwiML, so Twilio hangs up';
    case 'caller_hung_up': return 'you hung up';
    case 'unsupported': return `<${end.detail}> is not simulated`;
    default: return JSON.stringify(end);
  }
}

function transcriptLine(event) {
  const line = (kind, tag, ...what) =>
    el('li', { 'data-kind': kind }, el('span', { class: 'tag' }, tag), el('span', { class: 'what' }, ...what));
  switch (event.event) {
    case 'heard': return line('heard', 'says', event.text);
    case 'played': return line('played', 'plays', event.url);
    case 'paused': return line('paused', 'pause', `${event.seconds} s of silence`);
    case 'listening': return line('listening', 'gather', event.step ? `listening (step ${event.step})` : 'listening');
    case 'dialled': return line('dialled', 'dial', event.targets.join(', '));
    case 'recording': return line('recording', 'record', 'recording a message');
    case 'connected': return line('connected', 'connect', `${event.noun} ${event.url}`);
    case 'started': return line('started', 'start', `${event.what} started`);
    case 'stopped': return line('stopped', 'stop', `${event.what} stopped`);
    case 'queued': return line('queued', 'queue', `waiting in queue ${event.queue}`);
    case 'left_queue': return line('left_queue', 'queue', `left the queue: ${event.result}`);
    case 'callee_heard': return line('callee_heard', 'callee', `hears: ${event.text}`);
    case 'callee_answered': return line('callee_answered', 'callee', event.joined ? 'accepted: the call is joined' : 'declined: the call is not joined');
    case 'requested': return line('requested', 'request', describeRequest(event));
    case 'texted': return line('texted', 'sms', describeText(event));
    case 'caller': return line('caller', 'you', describeAction(event.action));
    case 'ended': return line('ended', 'end', `Call ended: ${describeEnd(event.end)}`);
    default: return line('other', event.event, JSON.stringify(event));
  }
}

/** A text message the flow sent, or would have in a real call. */
function describeText(text) {
  const fate = text.refused ? ` (not sent: ${text.refused})` : text.simulated ? ' (simulated: not sent)' : '';
  return `to ${text.to} from ${text.from}: “${text.body}”${fate}`;
}

/** A request the flow made: method, URL (secrets already masked by the
 * server), how it went and how long it took. */
function describeRequest(request) {
  const outcome = [request.status, request.problem].filter((part) => part != null).join(', ');
  const how = request.background ? 'in the background' : `${request.millis} ms`;
  return `${request.method} ${request.url}${outcome ? ` → ${outcome}` : ''} (${how})`;
}

/** Steps as visited, a step resumed by its own webhook shown once. */
function collapseRepeats(steps) {
  return steps.filter((step, i) => i === 0 || steps[i - 1] !== step);
}

function webhookEntry(exchange, index) {
  const ok = exchange.status === 200;
  const steps = exchange.steps.length ? ` → ${exchange.steps.join(', ')}` : '';
  return el('details', { 'data-index': index },
    el('summary', {},
      `${index + 1}. ${exchange.method} ${exchange.url} `,
      el('span', { class: ok ? 'status-ok' : 'status-bad' }, String(exchange.status)), steps),
    el('table', {}, el('tbody', {}, exchange.params.map(([name, value]) => el('tr', {}, el('td', {}, name), el('td', {}, value))))),
    el('pre', {}, prettyXml(exchange.twiml)),
  );
}

/** Puts each element of a TwiML document on its own line, indented. */
function prettyXml(xml) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return xml;
  const lines = [];
  const walk = (node, depth) => {
    const pad = '  '.repeat(depth);
    const attrs = [...node.attributes].map((a) => ` ${a.name}="${a.value}"`).join('');
    const kids = [...node.childNodes].filter((n) => n.nodeType === 1 || (n.nodeType === 3 && n.textContent.trim()));
    if (!kids.length) lines.push(`${pad}<${node.nodeName}${attrs}/>`);
    else if (kids.length === 1 && kids[0].nodeType === 3) lines.push(`${pad}<${node.nodeName}${attrs}>${kids[0].textContent}</${node.nodeName}>`);
    else {
      lines.push(`${pad}<${node.nodeName}${attrs}>`);
      for (const kid of kids) {
        if (kid.nodeType === 1) walk(kid, depth + 1);
        else lines.push(`${pad}  ${kid.textContent.trim()}`);
      }
      lines.push(`${pad}</${node.nodeName}>`);
    }
  };
  walk(doc.documentElement, 0);
  return lines.join('\n');
}

function startProblem(answer) {
  const said = answer.json && answer.json.error ? answer.json.error : `HTTP ${answer.status}`;
  switch (answer.status) {
    case 0:
      return { title: 'The callflow server did not answer', explanation: said, fix: 'Check that callflow is running, then simulate again.' };
    case 401:
      showLocked(answer);
      return keyProblem(said);
    case 403:
      return { title: 'The simulator is not available here', explanation: said, fix: 'See SIMULATOR in the README.' };
    case 404:
      return { title: 'This server has no simulator', explanation: 'POST /simulate/calls answered 404.', fix: 'Update callflow.' };
    case 422:
      return { title: 'The flow broke the simulation', explanation: said, fix: 'Fix the flow (see the webhooks panel), save, and simulate again.' };
    default:
      return { title: 'The simulated call could not start', explanation: said, fix: 'Correct the call settings above and simulate again.' };
  }
}

function actionProblem(answer) {
  const said = answer.json && answer.json.error ? answer.json.error : `HTTP ${answer.status}`;
  switch (answer.status) {
    case 0:
      return { title: 'The callflow server did not answer', explanation: said, fix: 'Check that callflow is running, then simulate again.' };
    case 401:
      showLocked(answer);
      return keyProblem(said);
    case 404:
      return { title: 'The server forgot this call', explanation: said, fix: 'Press Simulate to start a new call.' };
    case 422:
      return { title: 'The flow broke the simulation', explanation: said, fix: 'Fix the flow (see the webhooks panel), save, and simulate again.' };
    default:
      return { title: 'That did not fit the call', explanation: said, fix: 'Use the choices shown under Now.' };
  }
}
