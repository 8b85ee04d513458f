// Servers: the pool by provider with health, probe counters, last check and
// drain state; drain and undrain, each confirmed first.

import { allPages, api } from '../api.js';
import { confirmAction } from '../confirm.js';
import { h, plural, setText, timeMs } from '../dom.js';
import { DataTable } from '../table.js';

const PROVIDERS = ['vllm', 'sglang', 'speaches'];

export default {
  title: 'Servers',
  mount(el, ctx) {
    const latest = new Map();

    async function toggleDrain(url) {
      const s = latest.get(url);
      if (!s) return;
      if (s.draining) {
        const ok = await confirmAction({
          title: `Undrain server ${url}?`,
          text: `Server ${url} (${s.provider}) goes back into rotation: routers may give it new sessions again.`,
          action: 'Undrain',
        });
        if (!ok) return;
        await ctx.act(() => api('/servers/undrain', { method: 'POST', body: { url } }), () => `Server ${url} is back in rotation.`);
      } else {
        const ok = await confirmAction({
          title: `Drain server ${url}?`,
          text: `Server ${url} (${s.provider}) keeps the requests it has but gets no new session, on every replica and router, until undrained.`,
          action: 'Drain',
          reason: true,
        });
        if (!ok) return;
        const body = { url };
        if (ok.reason) body.reason = ok.reason;
        await ctx.act(() => api('/servers/drain', { method: 'POST', body }), () => `Server ${url} is draining.`);
      }
    }

    const columns = [
      { key: 'url', label: 'URL', text: (s) => s.url },
      { key: 'health', label: 'Health', text: (s) => (s.healthy ? 'healthy' : 'unhealthy'), raw: (s) => s.healthy, tone: (s) => (s.healthy ? 'good' : 'bad') },
      { key: 'failures', label: 'Failures in a row', numeric: true, text: (s) => String(s.consecutive_failures), value: (s) => s.consecutive_failures, raw: (s) => s.consecutive_failures },
      { key: 'successes', label: 'Successes in a row', numeric: true, text: (s) => String(s.consecutive_successes), value: (s) => s.consecutive_successes, raw: (s) => s.consecutive_successes },
      { key: 'last_check', label: 'Last check', text: (s) => timeMs(s.last_check_ms), value: (s) => s.last_check_ms, raw: (s) => s.last_check_ms },
      { key: 'last_failure', label: 'Last failure', text: (s) => timeMs(s.last_failure_ms), value: (s) => s.last_failure_ms, raw: (s) => s.last_failure_ms },
      { key: 'models', label: 'Models', text: (s) => s.models.join(', ') },
      { key: 'draining', label: 'Draining', text: (s) => (s.draining ? (s.drain_reason ? `draining: ${s.drain_reason}` : 'draining') : 'no'), raw: (s) => s.draining, tone: (s) => (s.draining ? 'warn' : '') },
      {
        key: 'action', label: 'Action', sortable: false,
        render(td, s) {
          let b = td.firstElementChild;
          if (!b) {
            b = h('button', { type: 'button', class: 'small' });
            b.addEventListener('click', () => toggleDrain(b.dataset.url));
            td.append(b);
          }
          b.dataset.url = s.url;
          setText(b, s.draining ? 'Undrain' : 'Drain');
          b.setAttribute('aria-label', `${s.draining ? 'Undrain' : 'Drain'} ${s.url}`);
        },
      },
    ];

    const sections = new Map();
    const filter = h('input', { id: 'servers-filter', type: 'search', autocomplete: 'off', spellcheck: 'false' });
    el.append(
      h('h1', {}, 'Servers'),
      h('div', { class: 'toolbar' }, h('label', { for: 'servers-filter' }, 'Filter'), filter),
    );
    for (const p of PROVIDERS) {
      const table = new DataTable({ caption: `${p} servers`, quietCaption: true, rowKey: (s) => s.url, columns, empty: 'No server matches.' });
      const summary = h('p', { class: 'summary', dataset: { provider: p } });
      const section = h('section', { class: 'provider', 'aria-labelledby': `provider-${p}` },
        h('h2', { id: `provider-${p}` }, p), summary, table.el);
      sections.set(p, { table, summary });
      el.append(section);
    }
    filter.addEventListener('input', () => {
      for (const { table } of sections.values()) table.setFilter(filter.value);
    });

    return {
      async refresh(signal) {
        const { items } = await allPages('/servers', 'servers', { signal });
        latest.clear();
        for (const s of items) latest.set(s.url, s);
        for (const [p, { table, summary }] of sections) {
          const list = items.filter((s) => s.provider === p);
          const healthy = list.filter((s) => s.healthy).length;
          const draining = list.filter((s) => s.draining).length;
          setText(summary, `${plural(list.length, 'server')}: ${healthy} healthy, ${list.length - healthy} unhealthy, ${draining} draining`);
          Object.assign(summary.dataset, { servers: list.length, healthy, draining });
          table.setRows(list);
        }
      },
    };
  },
};
