// Audit: who did what, newest first, paged with the trail's cursors.

import { api } from '../api.js';
import { h, setText, timeText } from '../dom.js';
import { DataTable } from '../table.js';

const LIMIT = 25;

export default {
  title: 'Audit',
  mount(el, ctx) {
    // cursors[i] is the `before` of page i+1; '' starts at the newest.
    const cursors = [''];
    let next = '';
    const newer = h('button', { type: 'button', id: 'audit-newer' }, 'Newer');
    const older = h('button', { type: 'button', id: 'audit-older' }, 'Older');
    const where = h('p', { class: 'summary', id: 'audit-summary', 'aria-live': 'polite' });
    const table = new DataTable({
      caption: 'Audit trail, newest first',
      rowKey: (e) => e.id,
      empty: 'Nothing has been done yet.',
      columns: [
        { key: 'at', label: 'When', text: (e) => timeText(e.at), value: (e) => e.id, raw: (e) => e.at },
        { key: 'user', label: 'User', text: (e) => e.user_id },
        { key: 'action', label: 'Action', text: (e) => e.action },
        { key: 'target', label: 'Target', text: (e) => e.target || '—' },
        { key: 'outcome', label: 'Outcome', text: (e) => e.outcome },
      ],
    });
    newer.addEventListener('click', () => {
      if (cursors.length > 1) cursors.pop();
      ctx.refresh();
    });
    older.addEventListener('click', () => {
      if (next) cursors.push(next);
      ctx.refresh();
    });
    el.append(h('h1', {}, 'Audit'), table.el, h('div', { class: 'pager', role: 'group', 'aria-label': 'Pages' }, newer, where, older));

    return {
      async refresh(signal) {
        const before = cursors.at(-1);
        const q = before ? `&before=${encodeURIComponent(before)}` : '';
        const res = await api(`/audit?limit=${LIMIT}${q}`, { signal });
        next = res.next;
        table.setRows(res.entries);
        const n = res.entries.length;
        setText(where, `Page ${cursors.length}${n ? ` · ${n === 1 ? '1 entry' : `${n} entries`}` : ''}`);
        where.dataset.page = String(cursors.length);
        newer.disabled = cursors.length <= 1;
        older.disabled = !next;
      },
    };
  },
};
