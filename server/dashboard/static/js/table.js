// A sortable, filterable data table that updates in place: rows are keyed,
// and a refresh changes only the cells whose text changed, so a focused
// button or a selection survives the 5-second refresh.

import { h, setText } from './dom.js';

/**
 * @typedef {object} Column
 * @property {string} key      names the column (data-col on its cells)
 * @property {string} label    the header text
 * @property {(row: any) => string} [text]       the cell's text
 * @property {(row: any) => (number|string)} [value]  the sort value (text by default)
 * @property {(row: any) => (number|string|boolean|null)} [raw]  the API's value, kept in data-value
 * @property {(td: HTMLElement, row: any) => void} [render]  fills the cell itself, in place
 * @property {boolean} [numeric]   right-aligned, sorted as a number
 * @property {boolean} [sortable]  false for action columns
 * @property {(row: any) => string} [tone]  'good', 'bad' or 'warn' to colour the cell
 */

export class DataTable {
  /**
   * @param {{caption: string, columns: Column[], rowKey: (row: any) => string,
   *          empty?: string, sort?: {key: string, dir: 'ascending'|'descending'},
   *          quietCaption?: boolean}} o  quietCaption: the caption is for screen
   *          readers only, when a heading above already says it
   */
  constructor(o) {
    this.columns = o.columns;
    this.rowKey = o.rowKey;
    this.sortKey = o.sort?.key ?? null;
    this.sortDir = o.sort?.dir ?? 'ascending';
    this.filterText = '';
    this.rows = [];
    this.trs = new Map();
    this.headers = new Map();

    const headRow = h('tr');
    for (const col of this.columns) {
      const th = h('th', { scope: 'col', class: col.numeric ? 'num' : null, dataset: { col: col.key } });
      if (col.sortable === false) {
        th.textContent = col.label;
      } else {
        const arrow = h('span', { class: 'arrow', 'aria-hidden': 'true' });
        th.append(h('button', { type: 'button', class: 'sort', onclick: () => this.sortBy(col.key) }, col.label, arrow));
      }
      this.headers.set(col.key, th);
      headRow.append(th);
    }
    this.tbody = h('tbody');
    this.table = h('table', { class: 'data' }, h('caption', { class: o.quietCaption ? 'visually-hidden' : null }, o.caption), h('thead', {}, headRow), this.tbody);
    this.emptyEl = h('p', { class: 'empty' }, o.empty ?? 'Nothing to show.');
    this.emptyEl.hidden = true;
    // The wrapper scrolls sideways on a narrow screen; as a focusable region
    // it can be scrolled with the keyboard too.
    this.el = h('div', { class: 'table-wrap', role: 'region', 'aria-label': o.caption, tabindex: '0' }, this.table, this.emptyEl);
    this.markSort();
  }

  /** Replaces the rows and redraws. */
  setRows(rows) {
    this.rows = rows;
    this.draw();
  }

  /** Shows only rows with a cell containing text (any case). */
  setFilter(text) {
    this.filterText = text.trim().toLowerCase();
    this.draw();
  }

  /** Sorts by the column key, flipping the direction on a second call. */
  sortBy(key) {
    if (this.sortKey === key) {
      this.sortDir = this.sortDir === 'ascending' ? 'descending' : 'ascending';
    } else {
      this.sortKey = key;
      this.sortDir = 'ascending';
    }
    this.markSort();
    this.draw();
  }

  /** How many rows the filter lets through. */
  get visibleCount() {
    return this.visible().length;
  }

  markSort() {
    for (const [key, th] of this.headers) {
      const arrow = th.querySelector('.arrow');
      if (key === this.sortKey) {
        th.setAttribute('aria-sort', this.sortDir);
        if (arrow) arrow.textContent = this.sortDir === 'ascending' ? ' ▲' : ' ▼';
      } else {
        th.removeAttribute('aria-sort');
        if (arrow) arrow.textContent = '';
      }
    }
  }

  textOf(col, row) {
    return col.text ? col.text(row) : '';
  }

  visible() {
    let rows = this.rows;
    if (this.filterText) {
      rows = rows.filter((row) => this.columns.some((c) => this.textOf(c, row).toLowerCase().includes(this.filterText)));
    }
    const col = this.columns.find((c) => c.key === this.sortKey);
    if (col) {
      const value = col.value ?? ((row) => this.textOf(col, row));
      const sign = this.sortDir === 'ascending' ? 1 : -1;
      rows = rows
        .map((row, i) => ({ row, i, v: value(row) }))
        .sort((a, b) => {
          if (a.v < b.v) return -sign;
          if (a.v > b.v) return sign;
          return a.i - b.i;
        })
        .map((x) => x.row);
    }
    return rows;
  }

  draw() {
    const rows = this.visible();
    const seen = new Set();
    rows.forEach((row, i) => {
      const key = this.rowKey(row);
      seen.add(key);
      let tr = this.trs.get(key);
      if (!tr) {
        tr = h('tr', { dataset: { key } });
        for (const col of this.columns) {
          tr.append(h('td', { class: col.numeric ? 'num' : null, dataset: { col: col.key } }));
        }
        this.trs.set(key, tr);
      }
      this.columns.forEach((col, j) => {
        const td = tr.children[j];
        if (col.render) col.render(td, row);
        else setText(td, this.textOf(col, row));
        if (col.tone) {
          const tone = col.tone(row);
          if (tone) td.dataset.tone = tone;
          else delete td.dataset.tone;
        }
        if (col.raw) {
          const raw = col.raw(row);
          td.dataset.value = raw === null || raw === undefined ? 'null' : String(raw);
        }
      });
      // Only rows out of place move: moving a node would take the focus
      // away from a button inside it.
      if (this.tbody.children[i] !== tr) this.tbody.insertBefore(tr, this.tbody.children[i] ?? null);
    });
    for (const [key, tr] of this.trs) {
      if (!seen.has(key)) {
        tr.remove();
        this.trs.delete(key);
      }
    }
    this.emptyEl.hidden = rows.length > 0;
  }
}
