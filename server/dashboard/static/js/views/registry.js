// Registry: pick a model, page through the backend URLs that serve it. The
// models to pick from are those the server pool lists.

import { allPages, api, seg } from '../api.js';
import { h, plural, replaceChildren, setText } from '../dom.js';
import { DataTable } from '../table.js';

const SIZES = [10, 25, 50, 100];

export default {
  title: 'Registry',
  mount(el, ctx) {
    let model = '';
    let page = 1;
    let limit = 25;
    let pages = 1;
    let known = [];

    const select = h('select', { id: 'registry-model' });
    const size = h('select', { id: 'registry-limit' }, SIZES.map((n) => h('option', { value: String(n), selected: n === limit }, String(n))));
    const prev = h('button', { type: 'button', id: 'registry-prev' }, 'Previous page');
    const next = h('button', { type: 'button', id: 'registry-next' }, 'Next page');
    const where = h('p', { class: 'summary', id: 'registry-summary', 'aria-live': 'polite' });
    const table = new DataTable({
      caption: 'Backend URLs of the model',
      rowKey: (r) => r.url,
      empty: 'No server is registered for this model.',
      columns: [
        { key: 'n', label: '#', numeric: true, text: (r) => String(r.n), value: (r) => r.n },
        { key: 'url', label: 'URL', text: (r) => r.url },
      ],
    });
    const refresh = () => ctx.refresh();
    select.addEventListener('change', () => {
      model = select.value;
      page = 1;
      refresh();
    });
    size.addEventListener('change', () => {
      limit = Number(size.value);
      page = 1;
      refresh();
    });
    prev.addEventListener('click', () => {
      page = Math.max(1, page - 1);
      refresh();
    });
    next.addEventListener('click', () => {
      page = Math.min(pages, page + 1);
      refresh();
    });

    el.append(
      h('h1', {}, 'Registry'),
      h('div', { class: 'toolbar' },
        h('label', { for: 'registry-model' }, 'Model'), select,
        h('label', { for: 'registry-limit' }, 'Per page'), size),
      table.el,
      h('div', { class: 'pager', role: 'group', 'aria-label': 'Pages' }, prev, where, next),
    );

    return {
      async refresh(signal) {
        const { items } = await allPages('/servers', 'servers', { signal });
        const models = [...new Set(items.flatMap((s) => s.models))].sort();
        if (models.join('\n') !== known.join('\n')) {
          known = models;
          if (!model || !models.includes(model)) model = models[0] ?? '';
          replaceChildren(select, models.map((m) => h('option', { value: m, selected: m === model }, m)));
        }
        if (!model) {
          table.setRows([]);
          setText(where, 'No model is registered.');
          prev.disabled = next.disabled = true;
          return;
        }
        const res = await api(`/registry/${seg(model)}?page=${page}&limit=${limit}`, { signal });
        pages = Math.max(1, Math.ceil(res.total / limit));
        table.setRows(res.urls.map((url, i) => ({ url, n: (page - 1) * limit + i + 1 })));
        setText(where, `Page ${page} of ${pages} · ${plural(res.total, 'URL')}`);
        Object.assign(where.dataset, { total: res.total, page });
        prev.disabled = page <= 1;
        next.disabled = page >= pages;
      },
    };
  },
};
