// Small DOM helpers shared by both modes.

export const $ = (selector) => document.querySelector(selector);

/** An element with attributes and children (strings become text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Shows a problem ({title, explanation, fix}) in a box, or hides the box for null. */
export function showProblem(box, problem) {
  box.replaceChildren();
  if (!problem) {
    box.hidden = true;
    return;
  }
  box.append(
    el('h3', {}, problem.title),
    el('p', {}, problem.explanation),
    el('p', { class: 'fix' }, 'Fix: ', problem.fix),
  );
  box.hidden = false;
}

/**
 * What a 401 from the page's APIs means: this browser has not been let in with the server's
 * admin key, or its key is from an earlier run (a key made at start-up changes at each start).
 */
export function keyProblem(said) {
  return {
    title: 'This page needs the server\'s admin key',
    explanation: said || 'The server answered 401: the simulator, the flow list and real calls answer only a browser that has the admin key.',
    fix: "Open the link with ?key= printed in the server's log when callflow started (it lets this browser in), or this page's address with ?key= and the value of ADMIN_KEY.",
  };
}

/** Shows the admin-key problem at the top of the page, once, whichever API met it first. */
export function showLocked(answer) {
  const box = $('#locked');
  if (!box || !box.hidden) return;
  const said = answer && answer.json && typeof answer.json.error === 'string' ? answer.json.error : '';
  showProblem(box, keyProblem(said));
}

/** JSON over fetch: {ok, status, json}; status 0 when the server did not answer. The page's
 * requests are same-origin, so the browser sends the admin key's cookie with them. */
export async function api(method, url, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    return { ok: false, status: 0, json: { error: `the server did not answer (${error.message})` } };
  }
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  return { ok: response.ok, status: response.status, json };
}

/** Sets a status pill's text and state (ok, off, or neutral). */
export function setPill(pill, text, state) {
  pill.textContent = text;
  if (state) pill.dataset.state = state;
  else delete pill.dataset.state;
}

/** True when keyboard keys belong to a text field rather than the keypad. */
export function typingInField(target) {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) &&
    !(target instanceof HTMLInputElement && target.type === 'checkbox')
  );
}
