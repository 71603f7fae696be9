// The chosen flow as a diagram: the same nodes and arrows as `callflow graph`,
// from GET /flows/graph, laid out with dagre (served from node_modules at
// /vendor/dagre.js) and drawn here as SVG, one <g> per node named by its step,
// so a simulated call can light its path up, the heat map can shade what real
// callers took, and a click can show a step's YAML.
//
// GET /flows/graph?flow=NAME answers {flow, file, version, nodes: [{id, label,
// kind, shape, step, calls, source: {line, yaml}}], edges: [{from, to, label,
// link, calls}]}.

import { $, api, el } from './ui.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Milliseconds between two steps lighting up, so the eye can follow the path. */
const STEP_DELAY = 160;

/** An SVG element with attributes and children. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

/** Width of a line of text at the diagram's font sizes, without measuring the DOM. */
const textWidth = (text, px) => Math.ceil(text.length * px * 0.6);

/** The box a node needs, by its shape. */
function nodeSize(node) {
  const kind = node.kind ? `(${node.kind})` : '';
  const inner = Math.max(textWidth(node.label, 13), textWidth(kind, 11));
  switch (node.shape) {
    case 'entry':
    case 'ends': {
      const d = Math.max(48, inner + 18);
      return { width: d, height: d };
    }
    case 'choice':
      return { width: Math.max(110, inner * 1.5 + 24), height: 62 };
    case 'flow':
      return { width: inner + 44, height: 40 };
    default:
      return { width: Math.max(96, inner + 28), height: node.kind ? 44 : 34 };
  }
}

/** The outline of a node's shape, centred on 0,0. */
function outline(node, { width, height }) {
  const w = width / 2;
  const h = height / 2;
  switch (node.shape) {
    case 'entry':
      return [svg('circle', { class: 'shape', r: w })];
    case 'ends':
      return [svg('circle', { class: 'shape', r: w }), svg('circle', { class: 'ring', r: w - 4 })];
    case 'choice':
      return [svg('polygon', { class: 'shape', points: `0,${-h} ${w},0 0,${h} ${-w},0` })];
    case 'waits':
      return [svg('rect', { class: 'shape', x: -w, y: -h, width, height, rx: h, ry: h })];
    case 'dial':
      return [
        svg('rect', { class: 'shape', x: -w, y: -h, width, height, rx: 3 }),
        svg('line', { class: 'ring', x1: -w + 6, y1: -h, x2: -w + 6, y2: h }),
        svg('line', { class: 'ring', x1: w - 6, y1: -h, x2: w - 6, y2: h }),
      ];
    case 'flow':
      return [svg('polygon', { class: 'shape', points: `${-w + 10},${-h} ${w},${-h} ${w - 10},${h} ${-w},${h}` })];
    default:
      return [svg('rect', { class: 'shape', x: -w, y: -h, width, height, rx: 3 })];
  }
}

/** A smooth path through dagre's points for an edge. */
function curve(points) {
  const [first, ...rest] = points;
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i += 1) {
    const mid = { x: (rest[i].x + rest[i + 1].x) / 2, y: (rest[i].y + rest[i + 1].y) / 2 };
    d += ` Q${rest[i].x},${rest[i].y} ${mid.x},${mid.y}`;
  }
  const last = rest[rest.length - 1];
  return `${d} L${last.x},${last.y}`;
}

function markers() {
  const arrow = (id) =>
    svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' },
      svg('path', { d: 'M0,0 L10,5 L0,10 z' }));
  return svg('defs', {}, arrow('arrow'), arrow('arrow-visited'), arrow('arrow-heat'));
}

export function createDiagram() {
  const card = $('#diagram-card');
  const box = $('#diagram');
  const note = $('#diagram-note');
  const heatToggle = $('#diagram-heat');
  let dagre = null; // the layout library, once loaded; false when it is not installed
  let graph = null; // the graph drawn
  let shownFlow = null;
  let trace = { call: null, path: [], lit: 0, timer: null, ended: false };
  let loading = null;

  async function library() {
    if (dagre !== null) return dagre;
    const status = await api('GET', '/vendor/status');
    const info = status.ok && status.json ? status.json.diagram : null;
    if (!info || !info.installed) {
      dagre = false;
      say((info && info.fix) || 'The diagram library is not installed: run `npm ci` in the callflow folder.');
      return dagre;
    }
    try {
      dagre = await import(info.url);
    } catch (error) {
      dagre = false;
      say(`The diagram library did not load (${error.message}).`);
    }
    return dagre;
  }

  function say(text) {
    note.textContent = text;
  }

  /** Shows `flow` (main when empty), fetched again so an edit or new calls show. */
  async function show(flow) {
    const name = flow || 'main';
    const mine = (loading = {});
    const lib = await library();
    if (!lib || mine !== loading) return;
    const answer = await api('GET', `/flows/graph?flow=${encodeURIComponent(name)}`);
    if (mine !== loading) return;
    if (!answer.ok) {
      graph = null;
      shownFlow = null;
      box.replaceChildren();
      box.dataset.flow = '';
      say(answer.status === 401
        ? 'The diagram needs the admin key, as the flow list does.'
        : answer.status === 404 && !flow
          ? 'Pick a flow to see its diagram.'
          : `No diagram: ${answer.json && answer.json.error ? answer.json.error : `HTTP ${answer.status}`}.`);
      return;
    }
    const same = shownFlow === name && graph && graph.version === answer.json.version;
    graph = answer.json;
    shownFlow = name;
    if (!same) draw(lib);
    $('#diagram-flow').textContent = `${graph.flow} · ${graph.file}`;
    say('');
    shade();
    retrace();
  }

  function draw(lib) {
    const layout = new lib.graphlib.Graph();
    layout.setGraph({ rankdir: 'TB', nodesep: 22, ranksep: 30, edgesep: 12, marginx: 12, marginy: 12 });
    layout.setDefaultEdgeLabel(() => ({}));
    for (const node of graph.nodes) layout.setNode(node.id, { ...nodeSize(node) });
    for (const edge of graph.edges) {
      const label = edge.label ? { width: textWidth(edge.label, 11) + 8, height: 16, labelpos: 'c' } : {};
      layout.setEdge(edge.from, edge.to, label);
    }
    lib.layout(layout);
    const size = layout.graph();
    const edges = graph.edges.map((edge) => {
      const at = layout.edge(edge.from, edge.to);
      const group = svg('g', { class: 'edge', 'data-from': edge.from, 'data-to': edge.to, 'data-link': edge.link ? '' : null },
        svg('path', { d: curve(at.points), 'marker-end': 'url(#arrow)' }));
      if (edge.label) {
        const width = textWidth(edge.label, 11) + 8;
        group.append(svg('g', { class: 'edge-label', transform: `translate(${at.x},${at.y})` },
          svg('rect', { x: -width / 2, y: -9, width, height: 18, rx: 3 }),
          svg('text', { 'text-anchor': 'middle', y: 4 }, edge.label)));
      }
      return group;
    });
    const nodes = graph.nodes.map((node) => {
      const at = layout.node(node.id);
      const clickable = Boolean(node.source);
      const where = clickable ? `${graph.file}:${node.source.line}` : null;
      const text = node.kind
        ? [svg('text', { class: 'name', 'text-anchor': 'middle', y: -2 }, node.label),
          svg('text', { class: 'kind', 'text-anchor': 'middle', y: 12 }, `(${node.kind})`)]
        : [svg('text', { class: 'name', 'text-anchor': 'middle', y: 4 }, node.label)];
      const group = svg('g', {
        class: 'node',
        transform: `translate(${at.x},${at.y})`,
        'data-node': node.id,
        'data-step': node.kind ? node.step : null,
        'data-shape': node.shape,
        'data-width': at.width,
        tabindex: clickable ? 0 : null,
        role: clickable ? 'button' : null,
        'aria-label': clickable ? `${node.label} (${node.kind}), ${where}: show its YAML` : null,
      }, svg('title', {}, where ? `${node.label}: ${where}` : node.label), outline(node, at), text,
      svg('g', { class: 'badge', transform: `translate(${-at.width / 2},${-at.height / 2})` }));
      if (clickable) {
        group.addEventListener('click', () => showSource(node));
        group.addEventListener('keydown', (event) => {
          if (event.key !== 'Enter' && event.key !== ' ') return;
          event.preventDefault();
          showSource(node);
        });
      }
      return group;
    });
    const picture = svg('svg', {
      id: 'diagram-svg',
      xmlns: SVG,
      width: Math.ceil(size.width),
      height: Math.ceil(size.height),
      viewBox: `0 0 ${Math.ceil(size.width)} ${Math.ceil(size.height)}`,
      role: 'img',
      'aria-label': `Diagram of flow ${graph.flow}`,
    }, markers(), svg('g', { class: 'edges' }, edges), svg('g', { class: 'nodes' }, nodes));
    box.replaceChildren(picture);
    box.dataset.flow = graph.flow;
    box.dataset.version = graph.version;
    hideSource();
  }

  // ---- a step's YAML -------------------------------------------------------

  function showSource(node) {
    const where = `${graph.file}:${node.source.line}`;
    $('#step-source-where').textContent = where;
    $('#step-source-yaml').textContent = node.source.yaml;
    $('#step-source').hidden = false;
    $('#step-source').dataset.step = node.step;
    for (const other of box.querySelectorAll('.node[aria-pressed]')) other.removeAttribute('aria-pressed');
    const shown = box.querySelector(`.node[data-node="${CSS.escape(node.id)}"]`);
    if (shown) shown.setAttribute('aria-pressed', 'true');
  }

  function hideSource() {
    $('#step-source').hidden = true;
  }

  // ---- a simulated call's path ---------------------------------------------

  /** Follows a simulated call: `steps` is its `flow:step` list so far, the whole call. */
  function follow(call) {
    if (!call || !Array.isArray(call.steps)) return;
    const fresh = trace.call !== call.id;
    if (fresh) {
      clearTimeout(trace.timer);
      trace = { call: call.id, path: [], lit: 0, timer: null, ended: false };
    }
    trace.ended = Boolean(call.waiting && call.waiting.for === 'ended' && !call.failure);
    // A step resumed by its own webhook is listed twice in a row: it is one visit.
    trace.path = call.steps.filter((step, i) => i === 0 || call.steps[i - 1] !== step);
    const last = trace.path[trace.path.length - 1];
    const flow = last ? last.slice(0, last.lastIndexOf(':')) : null;
    if (flow && (fresh || flow !== shownFlow)) {
      // A new call reads the flow again (an edit may have changed it); a call
      // that went into another flow shows that one, its path from there on.
      if (flow !== shownFlow) trace.lit = trace.path.length - 1;
      if (fresh) trace.lit = 0;
      show(flow);
      return;
    }
    lightNext();
  }

  /** Draws the path again from the start, at once (after a redraw). */
  function retrace() {
    if (!graph || !trace.call) return;
    clearTimeout(trace.timer);
    const upTo = trace.lit;
    trace.lit = 0;
    clearPath();
    while (trace.lit < upTo) light(trace.lit++);
    lightNext();
  }

  function clearPath() {
    for (const node of box.querySelectorAll('.node')) {
      node.classList.remove('visited', 'current');
      delete node.dataset.order;
      delete node.dataset.visits;
      node.removeAttribute('aria-current');
      node.querySelector('.badge').replaceChildren();
    }
    for (const edge of box.querySelectorAll('.edge.visited')) edge.classList.remove('visited');
  }

  function lightNext() {
    clearTimeout(trace.timer);
    if (trace.lit >= trace.path.length) {
      markCurrent();
      return;
    }
    light(trace.lit++);
    trace.timer = setTimeout(lightNext, STEP_DELAY);
  }

  const stepNode = (entry) => {
    if (!entry || !graph) return null;
    const cut = entry.lastIndexOf(':');
    if (entry.slice(0, cut) !== graph.flow) return null;
    return box.querySelector(`.node[data-step="${CSS.escape(entry.slice(cut + 1))}"]`);
  };

  /** Lights the path's `index`-th step and the arrow that led to it. */
  function light(index) {
    const node = stepNode(trace.path[index]);
    if (!node) return;
    const order = box.querySelectorAll('.node[data-order]').length + 1;
    if (!node.classList.contains('visited')) {
      node.classList.add('visited');
      node.dataset.order = String(order);
      node.querySelector('.badge').replaceChildren(
        svg('circle', { r: 9 }), svg('text', { 'text-anchor': 'middle', y: 4 }, String(order)));
    }
    node.dataset.visits = String(Number(node.dataset.visits || 0) + 1);
    const before = stepNode(trace.path[index - 1]);
    const from = before ? before.dataset.node : index === 0 ? 'n_start' : null;
    const edge = from && box.querySelector(`.edge[data-from="${CSS.escape(from)}"][data-to="${CSS.escape(node.dataset.node)}"]`);
    if (edge) edge.classList.add('visited');
    if (edge) edge.querySelector('path').setAttribute('marker-end', 'url(#arrow-visited)');
  }

  /** A call that ended after `node` went on to the end its arrows lead to, when there is one. */
  function lightTheEnd(node) {
    const ends = [...box.querySelectorAll(`.edge[data-from="${CSS.escape(node.dataset.node)}"]`)]
      .filter((edge) => box.querySelector(`.node[data-shape="ends"][data-node="${CSS.escape(edge.dataset.to)}"]`));
    if (ends.length !== 1) return;
    ends[0].classList.add('visited');
    ends[0].querySelector('path').setAttribute('marker-end', 'url(#arrow-visited)');
    box.querySelector(`.node[data-node="${CSS.escape(ends[0].dataset.to)}"]`).classList.add('visited');
  }

  function markCurrent() {
    for (const node of box.querySelectorAll('.node.current')) {
      node.classList.remove('current');
      node.removeAttribute('aria-current');
    }
    for (const tag of box.querySelectorAll('.now-tag')) tag.remove();
    const node = stepNode(trace.path[trace.path.length - 1]);
    if (!node) return;
    node.classList.add('current');
    node.setAttribute('aria-current', 'step');
    const width = Number(node.dataset.width);
    node.append(svg('text', { class: 'now-tag', x: width / 2 + 6, y: 8, 'text-anchor': 'start' }, '◀ now'));
    if (trace.ended) lightTheEnd(node);
    const top = node.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop;
    if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - 60) box.scrollTop = Math.max(0, top - box.clientHeight / 3);
  }

  // ---- the heat map --------------------------------------------------------

  /** Shades steps and arrows by the real calls that took them, or takes the shading off. */
  function shade() {
    const on = heatToggle.checked;
    box.classList.toggle('heat', on);
    const counted = (graph ? graph.nodes : []).filter((node) => node.kind);
    const most = Math.max(1, ...counted.map((node) => node.calls));
    const mostEdge = Math.max(1, ...(graph ? graph.edges : []).map((edge) => edge.calls || 0));
    for (const node of graph ? graph.nodes : []) {
      const shown = box.querySelector(`.node[data-node="${CSS.escape(node.id)}"]`);
      if (!shown) continue;
      const shape = shown.querySelector('.shape');
      const heat = Math.min(1, node.calls / most);
      shown.dataset.calls = String(node.calls);
      shown.dataset.heat = heat.toFixed(2);
      shape.style.fill = on && node.calls > 0 ? `color-mix(in srgb, #e8590c ${Math.round(10 + 55 * heat)}%, #fff)` : '';
      let count = shown.querySelector('.count');
      if (on) {
        if (!count) {
          count = svg('text', { class: 'count', 'text-anchor': 'start' });
          shown.append(count);
        }
        const size = nodeSize(node);
        count.setAttribute('x', String(size.width / 2 + 4));
        count.setAttribute('y', String(-size.height / 2 + 10));
        count.textContent = String(node.calls);
      } else if (count) count.remove();
    }
    for (const edge of graph ? graph.edges : []) {
      const shown = box.querySelector(`.edge[data-from="${CSS.escape(edge.from)}"][data-to="${CSS.escape(edge.to)}"]`);
      if (!shown) continue;
      const path = shown.querySelector('path');
      const calls = edge.calls === null ? null : edge.calls;
      const heat = calls ? calls / mostEdge : 0;
      if (calls !== null) shown.dataset.calls = String(calls);
      shown.dataset.heat = heat.toFixed(2);
      path.style.strokeWidth = on && calls ? String(1.5 + 5 * heat) : '';
      shown.classList.toggle('hot', on && Boolean(calls));
      let title = shown.querySelector('title');
      if (on && calls !== null) {
        if (!title) shown.prepend((title = svg('title')));
        title.textContent = `${edge.label || 'start'}: ${calls} call${calls === 1 ? '' : 's'}`;
      } else if (title) title.remove();
      if (!shown.classList.contains('visited')) path.setAttribute('marker-end', on && calls ? 'url(#arrow-heat)' : 'url(#arrow)');
    }
    card.dataset.heat = on ? 'on' : 'off';
  }

  heatToggle.addEventListener('change', () => {
    // Counts change with every call: read them again when the map is switched on.
    if (heatToggle.checked && shownFlow) show(shownFlow);
    else shade();
  });

  return { show, follow, shownFlow: () => shownFlow };
}
