// Sparklines drawn as inline SVG: a polyline of the samples taken while a
// page is open, with a text alternative for screen readers.

const SVG = 'http://www.w3.org/2000/svg';

/** A series of samples, the newest last, holding at most max. */
export class Series {
  constructor(max = 60) {
    this.max = max;
    this.values = [];
  }

  push(v) {
    this.values.push(v);
    if (this.values.length > this.max) this.values.shift();
  }
}

/**
 * Draws series into the svg element (created with sparkSVG), labelled as
 * what with the unit.
 */
export function drawSpark(svg, series, what) {
  const w = 240;
  const hgt = 48;
  const pad = 3;
  const vs = series.values;
  const hi = Math.max(1, ...vs);
  const lo = 0;
  const step = vs.length > 1 ? (w - 2 * pad) / (vs.length - 1) : 0;
  const pts = vs.map((v, i) => {
    const x = pad + i * step;
    const y = hgt - pad - ((v - lo) / (hi - lo)) * (hgt - 2 * pad);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const line = svg.querySelector('polyline');
  line.setAttribute('points', pts.join(' '));
  const dot = svg.querySelector('circle');
  if (pts.length) {
    const [x, y] = pts[pts.length - 1].split(',');
    dot.setAttribute('cx', x);
    dot.setAttribute('cy', y);
    dot.setAttribute('r', '2.5');
  }
  const now = vs.length ? vs[vs.length - 1] : 0;
  const label = vs.length
    ? `${what}: now ${now}, lowest ${Math.min(...vs)}, highest ${Math.max(...vs)}, over ${vs.length} samples`
    : `${what}: no samples yet`;
  svg.setAttribute('aria-label', label);
  svg.querySelector('title').textContent = label;
}

/** An empty sparkline element. */
export function sparkSVG() {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 240 48');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.append(document.createElementNS(SVG, 'title'));
  const base = document.createElementNS(SVG, 'line');
  for (const [k, v] of Object.entries({ x1: 0, y1: 45, x2: 240, y2: 45, class: 'spark-base' })) base.setAttribute(k, String(v));
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('class', 'spark-line');
  line.setAttribute('fill', 'none');
  const dot = document.createElementNS(SVG, 'circle');
  dot.setAttribute('class', 'spark-dot');
  dot.setAttribute('r', '0');
  svg.append(base, line, dot);
  return svg;
}
