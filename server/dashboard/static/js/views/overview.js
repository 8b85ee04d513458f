// Overview: the fleet summary and the affinity rates per provider.

import { api } from '../api.js';
import { h, money, percent, replaceChildren } from '../dom.js';
import { DataTable } from '../table.js';

function card(key, label, value, text, hint) {
  return h('div', { class: 'stat', dataset: { stat: key } },
    h('span', { class: 'stat-value', dataset: { value: String(value) } }, text),
    h('span', { class: 'stat-label' }, label),
    hint ? h('span', { class: 'stat-hint' }, hint) : null);
}

const count = (key, label) => ({ key, label, numeric: true, text: (r) => String(r[key]), value: (r) => r[key], raw: (r) => r[key] });

export default {
  title: 'Overview',
  mount(el) {
    const cards = h('div', { class: 'stats', role: 'group', 'aria-label': 'Fleet summary' });
    const byStatus = new DataTable({
      caption: 'Pods by status',
      rowKey: (r) => r.status,
      columns: [
        { key: 'status', label: 'Status', text: (r) => r.status },
        count('pods', 'Pods'),
      ],
      empty: 'No pods.',
    });
    const providers = new DataTable({
      caption: 'Servers per provider',
      rowKey: (r) => r.name,
      columns: [
        { key: 'name', label: 'Provider', text: (r) => r.name },
        count('servers', 'Servers'),
        count('healthy', 'Healthy'),
        count('unhealthy', 'Unhealthy'),
        count('draining', 'Draining'),
      ],
    });
    const total = (r) => r.session_hit_count + r.session_miss_count + r.fallback_count;
    const affinity = new DataTable({
      caption: 'Session affinity per provider',
      rowKey: (r) => r.name,
      columns: [
        { key: 'name', label: 'Provider', text: (r) => r.name },
        count('session_hit_count', 'Hits'),
        count('session_miss_count', 'Misses'),
        count('fallback_count', 'Fallbacks'),
        { key: 'hit_rate', label: 'Hit rate', numeric: true, text: (r) => percent(r.session_hit_count, total(r)), value: (r) => r.session_hit_count / (total(r) || 1) },
        { key: 'miss_rate', label: 'Miss rate', numeric: true, text: (r) => percent(r.session_miss_count, total(r)), value: (r) => r.session_miss_count / (total(r) || 1) },
        { key: 'fallback_rate', label: 'Fallback rate', numeric: true, text: (r) => percent(r.fallback_count, total(r)), value: (r) => r.fallback_count / (total(r) || 1) },
        { key: 'ttl_minutes', label: 'TTL (min)', numeric: true, text: (r) => String(r.ttl_minutes), value: (r) => r.ttl_minutes, raw: (r) => r.ttl_minutes },
      ],
    });
    el.append(
      h('h1', {}, 'Overview'),
      cards,
      h('div', { class: 'columns' }, byStatus.el, providers.el),
      affinity.el,
    );

    return {
      async refresh(signal) {
        const [sum, aff] = await Promise.all([
          api('/fleet/summary', { signal }),
          api('/affinity', { signal }),
        ]);
        replaceChildren(cards,
          card('pods', 'Pods', sum.pods.total, String(sum.pods.total)),
          card('cost', 'Running cost', sum.cost_per_hr, money(sum.cost_per_hr)),
          card('idle', 'Idle pods', sum.idle.pods, String(sum.idle.pods),
            `${money(sum.idle.cost_per_hr)} idle · no request for ${sum.idle.idle_after_minutes} min`),
          card('inflight', 'Requests in flight', sum.inflight, String(sum.inflight)),
          card('requests_5m', 'Requests, last 5 min', sum.requests_5m, String(sum.requests_5m)));
        cards.querySelector('[data-stat="idle"] .stat-hint').dataset.value = String(sum.idle.cost_per_hr);
        byStatus.setRows(Object.entries(sum.pods.by_status).sort().map(([status, pods]) => ({ status, pods })));
        providers.setRows(sum.providers);
        affinity.setRows(aff.providers);
      },
    };
  },
};
