// A pod's page: its details, its demand per model, sparklines of its
// in-flight count and request rate sampled while the page is open, and the
// actions restart, drain and undrain, each confirmed first.

import { api, seg } from '../api.js';
import { confirmAction } from '../confirm.js';
import { h, health, idle, money, replaceChildren, setText, timeMs, timeText } from '../dom.js';
import { drawSpark, Series, sparkSVG } from '../spark.js';
import { DataTable } from '../table.js';

const FIELDS = [
  ['id', 'Id', (p) => p.id],
  ['kind', 'Kind', (p) => p.kind],
  ['status', 'Status', (p) => p.desired_status],
  ['health', 'Health', (p) => health(p.healthy)],
  ['draining', 'Draining', (p) => (p.draining ? 'draining' : 'no')],
  ['url', 'Backend URL', (p) => p.url || '—'],
  ['models', 'Models', (p) => (p.models.length ? p.models.join(', ') : '—')],
  ['inflight', 'In flight', (p) => String(p.inflight)],
  ['idle', 'Idle', (p) => idle(p.idle_seconds, p.last_use_ms)],
  ['last_use', 'Last request', (p) => timeMs(p.last_use_ms)],
  ['last_started', 'Last started', (p) => timeText(p.last_started_at)],
  ['last_change', 'Last status change', (p) => p.last_status_change || '—'],
  ['cost', 'Cost', (p) => money(p.cost_per_hr)],
  ['gpu', 'GPU', (p) => p.gpu_type_id],
  ['location', 'Location', (p) => `${p.location} · ${p.data_center_id}`],
];

export default {
  title: 'Pod',
  mount(el, ctx, id) {
    let pod = null;
    const title = h('h1', {}, `Pod ${id}`);
    const dl = h('dl', { class: 'details' });
    const values = new Map();
    for (const [key, label] of FIELDS) {
      const dd = h('dd', { dataset: { field: key } });
      values.set(key, dd);
      dl.append(h('dt', {}, label), dd);
    }
    const inflight = new Series();
    const rate = new Series();
    const inflightSpark = sparkSVG();
    const rateSpark = sparkSVG();
    const demand = new DataTable({
      caption: 'Demand per model',
      rowKey: (m) => m.model_id,
      empty: 'No requests in flight or in the last 5 minutes.',
      columns: [
        { key: 'model', label: 'Model', text: (m) => m.model_id },
        { key: 'inflight', label: 'In flight', numeric: true, text: (m) => String(m.inflight), value: (m) => m.inflight, raw: (m) => m.inflight },
        { key: 'rate_5m', label: 'Requests, last 5 min', numeric: true, text: (m) => String(m.rate_5m), value: (m) => m.rate_5m, raw: (m) => m.rate_5m },
      ],
    });

    const name = () => pod?.name ?? id;
    const restart = h('button', { type: 'button', id: 'pod-restart', class: 'danger' }, 'Restart');
    const drain = h('button', { type: 'button', id: 'pod-drain' }, 'Drain');
    const undrain = h('button', { type: 'button', id: 'pod-undrain' }, 'Undrain');
    const actionHint = h('p', { class: 'hint', id: 'pod-action-hint' });
    restart.addEventListener('click', async () => {
      const ok = await confirmAction({
        title: `Restart pod ${name()}?`,
        text: `Pod ${name()} (${id}) will be stopped and resumed with its GPUs. Requests in flight on it fail; it serves again once healthy.`,
        action: `Restart ${name()}`,
      });
      if (!ok) return;
      await ctx.act(() => api(`/pods/${seg(id)}/restart`, { method: 'POST' }), () => `Restart of pod ${name()} initiated.`);
    });
    drain.addEventListener('click', async () => {
      const ok = await confirmAction({
        title: `Drain pod ${name()}?`,
        text: `Pod ${name()} keeps the requests it has but gets no new session, on every replica and router, until undrained.`,
        action: `Drain ${name()}`,
        reason: true,
      });
      if (!ok) return;
      const body = { url: pod.url };
      if (ok.reason) body.reason = ok.reason;
      await ctx.act(() => api('/servers/drain', { method: 'POST', body }), () => `Pod ${name()} is draining.`);
    });
    undrain.addEventListener('click', async () => {
      const ok = await confirmAction({
        title: `Undrain pod ${name()}?`,
        text: `Pod ${name()} goes back into rotation: routers may give it new sessions again.`,
        action: `Undrain ${name()}`,
      });
      if (!ok) return;
      await ctx.act(() => api('/servers/undrain', { method: 'POST', body: { url: pod.url } }), () => `Pod ${name()} is back in rotation.`);
    });
    restart.disabled = drain.disabled = undrain.disabled = true;
    undrain.hidden = true;

    el.append(
      h('p', { class: 'crumbs' }, h('a', { href: '#/pods' }, '← All pods')),
      title,
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Pod actions' }, restart, drain, undrain),
      actionHint,
      h('div', { class: 'columns' },
        h('section', { 'aria-labelledby': 'pod-details' }, h('h2', { id: 'pod-details' }, 'Details'), dl),
        h('section', { 'aria-labelledby': 'pod-load' },
          h('h2', { id: 'pod-load' }, 'Load while this page is open'),
          h('figure', { class: 'spark-fig' }, inflightSpark, h('figcaption', { id: 'spark-inflight' }, 'In flight')),
          h('figure', { class: 'spark-fig' }, rateSpark, h('figcaption', { id: 'spark-rate' }, 'Requests, last 5 min')))),
      demand.el,
    );

    return {
      async refresh(signal) {
        const p = await api(`/pods/${seg(id)}`, { signal });
        const d = p.url ? await api(`/demand/${seg(p.url)}`, { signal }) : null;
        pod = p;
        setText(title, p.name);
        document.title = `${p.name} · aiadmin`;
        for (const [key, , text] of FIELDS) setText(values.get(key), text(p));
        values.get('inflight').dataset.value = String(p.inflight);
        values.get('cost').dataset.value = String(p.cost_per_hr);
        const models = d ? d.models : [];
        demand.setRows(models);
        inflight.push(d ? d.inflight : p.inflight);
        rate.push(models.reduce((n, m) => n + m.rate_5m, 0));
        drawSpark(inflightSpark, inflight, 'Requests in flight');
        drawSpark(rateSpark, rate, 'Requests over the last 5 minutes');
        setText(inflightSpark.nextElementSibling, `In flight: ${inflight.values.at(-1)}`);
        setText(rateSpark.nextElementSibling, `Requests, last 5 min: ${rate.values.at(-1)}`);

        const inPool = p.healthy !== null;
        restart.disabled = false;
        const focused = document.activeElement;
        drain.hidden = p.draining;
        undrain.hidden = !p.draining;
        // The button just used gives way to its opposite; so does the focus.
        if (focused === drain && drain.hidden) undrain.focus();
        if (focused === undrain && undrain.hidden) drain.focus();
        drain.disabled = undrain.disabled = !inPool;
        replaceChildren(actionHint, inPool ? '' : 'Drain needs the pod\'s URL in a server pool; this pod is in none.');
      },
    };
  },
};
