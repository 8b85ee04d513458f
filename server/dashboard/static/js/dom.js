// Building the page. Every value from the API reaches the DOM through
// textContent or a text node, never as HTML: pod names, user ids and audit
// targets come from outside. (The page's Content-Security-Policy enforces
// Trusted Types, so handing a string to an HTML parser would throw anyway.)

/**
 * Creates an element. props: class, text, dataset (object), on<event>
 * (listener), anything else as an attribute; children are nodes or strings
 * (strings become text nodes).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Sets an element's text only when it changed, so unchanged cells stay put. */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

/** Replaces every child of el with children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

// Formatting. Times are shown in UTC, the fleet's own clock, with the zone.

/** "1 pod", "2 pods" */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** "$2.69/h" */
export function money(x) {
  return `$${Number(x).toFixed(2)}/h`;
}

/** "2026-05-01 10:11:12Z" from epoch milliseconds; "never" for 0. */
export function timeMs(ms) {
  if (!ms) return 'never';
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

/** An RFC 3339 time from the API in the same form, or the text as given. */
export function timeText(s) {
  if (!s) return '—';
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : timeMs(t);
}

/** "3 min 5 s" for a number of seconds. */
export function duration(seconds) {
  let s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hr = Math.floor(s / 3600); s -= hr * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${m} min`;
  if (m) return `${m} min ${s} s`;
  return `${s} s`;
}

/** How long a pod has had no request: "never used" when it never had one. */
export function idle(idleSeconds, lastUseMs) {
  return lastUseMs ? duration(idleSeconds) : 'never used';
}

/** The pool's verdict: true, false, or null when the URL is in no pool. */
export function health(healthy) {
  if (healthy === null || healthy === undefined) return 'not in pool';
  return healthy ? 'healthy' : 'unhealthy';
}

/** "12.5%" of part in total, or "—" when total is 0. */
export function percent(part, total) {
  return total ? `${((100 * part) / total).toFixed(1)}%` : '—';
}
