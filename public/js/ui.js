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

/** JSON over fetch: {ok, status, json}; status 0 when the server did not answer. */
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
