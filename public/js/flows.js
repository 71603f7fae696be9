// The flow picker and the diagnostics of a broken edit, from GET /flows.
//
// GET /flows answers {version, loaded_at, flows: [{name, description, ...}],
// last_error: null | {at, report, diagnostics: [{severity, file, line,
// column, message, help}]}}. A server without it (404) gets a text field for
// the flow name instead of a list.

import { $, api, el, setPill, showLocked } from './ui.js';

const ROUTE_BY_NUMBER = 'Route as Twilio would (by number, then main)';

export function createFlowPicker() {
  let available = null; // unknown until the first load
  let missing = false; // /flows answered 404: this server has none, so stop asking

  /** The flow the user chose; '' to let routing pick. */
  const value = () => ($('#flow') ? $('#flow').value.trim() : '');

  function renderSelect(flows) {
    const current = value();
    const select = el('select', { id: 'flow', name: 'flow' }, el('option', { value: '' }, ROUTE_BY_NUMBER));
    for (const flow of flows) {
      const label = flow.description ? `${flow.name} — ${flow.description}` : flow.name;
      select.append(el('option', { value: flow.name }, label));
    }
    if (flows.some((flow) => flow.name === current)) select.value = current;
    swap(select);
  }

  function renderTextField() {
    if ($('#flow') && $('#flow').tagName === 'INPUT') return;
    const current = value();
    swap(el('input', { id: 'flow', name: 'flow', placeholder: 'main (empty: route by number)', autocomplete: 'off', spellcheck: 'false', value: current }));
  }

  function swap(field) {
    const slot = $('#flow-slot');
    const had = slot.contains(document.activeElement);
    slot.replaceChildren(field);
    if (had) field.focus();
  }

  function renderDiagnostics(lastError, loadedAt) {
    const box = $('#diagnostics');
    if (!lastError) {
      box.hidden = true;
      return;
    }
    const since = loadedAt ? ` (loaded ${new Date(loadedAt).toLocaleString()})` : '';
    $('#diagnostics-intro').textContent =
      `Calls still use the last version that loaded${since}. Fix these and save; the server reloads by itself.`;
    const list = $('#diagnostics-list');
    list.replaceChildren();
    for (const d of lastError.diagnostics || []) {
      const where = [d.file, d.line, d.column].filter((part) => part !== undefined && part !== null).join(':');
      list.append(
        el('li', { 'data-severity': d.severity },
          el('span', { class: 'where' }, `${d.severity || 'error'} ${where}`), ' ', d.message,
          d.help ? el('div', { class: 'help' }, d.help) : null),
      );
    }
    $('#diagnostics-report').textContent = lastError.report || '';
    box.hidden = false;
  }

  /** Reads /flows again: before each simulated call, so an edit shows at once. */
  async function refresh() {
    if (missing) return;
    const pill = $('#status-flows');
    const answer = await api('GET', '/flows');
    if (answer.ok && answer.json && Array.isArray(answer.json.flows)) {
      available = true;
      renderSelect(answer.json.flows);
      renderDiagnostics(answer.json.last_error, answer.json.loaded_at);
      const broken = answer.json.last_error ? ', last edit broken' : '';
      setPill(pill, `Flows: ${answer.json.flows.length}${broken}`, answer.json.last_error ? 'off' : 'ok');
      $('#flow-hint').textContent = '';
      return;
    }
    available = false;
    missing = answer.status === 404;
    if (answer.status === 401) {
      showLocked(answer);
      withhold();
      return;
    }
    renderTextField();
    renderDiagnostics(null);
    setPill(pill, 'Flows: type a name', null);
    $('#flow-hint').textContent =
      answer.status === 404
        ? 'This server does not list its flows (no /flows yet): type a flow name, or leave it empty to route by number.'
        : `The flow list could not be read (${answer.status ? `HTTP ${answer.status}` : 'no answer'}): type a flow name.`;
  }

  /** The server shows its flows only to the admin key: ask for a name instead. */
  function withhold() {
    available = false;
    renderTextField();
    renderDiagnostics(null);
    setPill($('#status-flows'), 'Flows: type a name', null);
    $('#flow-hint').textContent =
      "This server lists its flows only to a browser with its admin key (open the link with ?key= printed in the server's log): type a flow name.";
  }

  return { value, refresh, withhold, isListed: () => available === true };
}
