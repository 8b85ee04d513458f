// Sessions: look up a user's session pins, and clear them after a
// confirmation naming the user.

import { api, seg } from '../api.js';
import { confirmAction } from '../confirm.js';
import { h, plural, setText, timeText } from '../dom.js';
import { DataTable } from '../table.js';

export default {
  title: 'Sessions',
  mount(el, ctx) {
    let user = '';
    const input = h('input', { id: 'sessions-user', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: '256', required: true });
    const form = h('form', { class: 'toolbar', id: 'sessions-form', role: 'search' },
      h('label', { for: 'sessions-user' }, 'User id'), input,
      h('button', { type: 'submit', class: 'primary' }, 'Look up'));
    const summary = h('p', { class: 'summary', id: 'sessions-summary', 'aria-live': 'polite' }, 'Enter a user id to see the backends their sessions are pinned to.');
    const clear = h('button', { type: 'button', id: 'sessions-clear', class: 'danger' }, 'Clear all pins');
    clear.hidden = true;
    const table = new DataTable({
      caption: 'Session pins',
      rowKey: (s) => `${s.provider}\u0000${s.model_id}`,
      empty: 'This user has no live session pin.',
      columns: [
        { key: 'provider', label: 'Provider', text: (s) => s.provider },
        { key: 'model', label: 'Model', text: (s) => s.model_id },
        { key: 'url', label: 'Pinned to', text: (s) => s.url },
        { key: 'expires', label: 'Expires', text: (s) => timeText(s.expires_at), value: (s) => s.expires_at },
      ],
    });
    table.el.hidden = true;

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      user = v;
      ctx.refresh();
    });
    clear.addEventListener('click', async () => {
      const who = user;
      const ok = await confirmAction({
        title: `Clear the session pins of ${who}?`,
        text: `Every session pin of user ${who} is removed, on every provider; their next requests go to fresh backends.`,
        action: `Clear pins of ${who}`,
      });
      if (!ok) return;
      await ctx.act(
        () => api('/affinity/clear', { method: 'POST', body: { user_id: who } }),
        (res) => `Cleared ${plural(res.cleared, 'session pin')} of ${who}.`,
      );
    });

    el.append(h('h1', {}, 'Sessions'), form, summary, h('div', { class: 'actions' }, clear), table.el);

    return {
      async refresh(signal) {
        if (!user) return;
        const res = await api(`/affinity/users/${seg(user)}`, { signal });
        table.el.hidden = false;
        clear.hidden = false;
        table.setRows(res.sessions);
        setText(summary, `${res.user_id} has ${plural(res.sessions.length, 'live session pin')}.`);
        summary.dataset.count = String(res.sessions.length);
      },
    };
  },
};
