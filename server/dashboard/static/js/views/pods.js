// Pods: every pod of the fleet in a sortable, filterable table; a pod's name
// leads to its page.

import { allPages, seg } from '../api.js';
import { h, health, idle, money, plural, setText } from '../dom.js';
import { DataTable } from '../table.js';

export default {
  title: 'Pods',
  mount(el) {
    const table = new DataTable({
      caption: 'Pods',
      quietCaption: true,
      rowKey: (p) => p.id,
      empty: 'No pod matches.',
      columns: [
        {
          key: 'name', label: 'Name', text: (p) => p.name,
          render(td, p) {
            let a = td.firstElementChild;
            if (!a) {
              a = h('a');
              td.append(a);
            }
            a.href = `#/pods/${seg(p.id)}`;
            setText(a, p.name);
          },
        },
        { key: 'kind', label: 'Kind', text: (p) => p.kind },
        { key: 'status', label: 'Status', text: (p) => p.desired_status, tone: (p) => (p.desired_status === 'RUNNING' ? '' : 'warn') },
        { key: 'health', label: 'Health', text: (p) => health(p.healthy), raw: (p) => p.healthy, tone: (p) => (p.healthy === null ? '' : p.healthy ? 'good' : 'bad') },
        { key: 'draining', label: 'Draining', text: (p) => (p.draining ? 'draining' : 'no'), raw: (p) => p.draining, tone: (p) => (p.draining ? 'warn' : '') },
        { key: 'inflight', label: 'In flight', numeric: true, text: (p) => String(p.inflight), value: (p) => p.inflight, raw: (p) => p.inflight },
        { key: 'idle', label: 'Idle', numeric: true, text: (p) => idle(p.idle_seconds, p.last_use_ms), value: (p) => (p.last_use_ms ? p.idle_seconds : Infinity), raw: (p) => p.idle_seconds },
        { key: 'cost', label: 'Cost', numeric: true, text: (p) => money(p.cost_per_hr), value: (p) => p.cost_per_hr, raw: (p) => p.cost_per_hr },
        { key: 'gpu', label: 'GPU', text: (p) => p.gpu_type_id },
        { key: 'dc', label: 'Data centre', text: (p) => p.data_center_id },
      ],
    });
    const filter = h('input', { id: 'pods-filter', type: 'search', autocomplete: 'off', spellcheck: 'false' });
    const summary = h('p', { class: 'summary', id: 'pods-summary', 'aria-live': 'polite' });
    let total = 0;
    const count = () => {
      const shown = table.visibleCount;
      setText(summary, shown === total ? plural(total, 'pod') : `${shown} of ${plural(total, 'pod')} match`);
      summary.dataset.total = String(total);
    };
    filter.addEventListener('input', () => {
      table.setFilter(filter.value);
      count();
    });
    el.append(
      h('h1', {}, 'Pods'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'pods-filter' }, 'Filter'), filter, summary),
      table.el,
    );
    return {
      async refresh(signal) {
        const res = await allPages('/pods', 'pods', { signal });
        total = res.total;
        table.setRows(res.items);
        count();
      },
    };
  },
};
