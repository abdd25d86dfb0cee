/**
 * The review page's virtualised grid: only the rows in view (plus a few) exist in the DOM, so a
 * page of 500 images stays responsive. Rows are virtualised with @tanstack/virtual-core; each row
 * holds as many cards as fit the width. Keyboard: the grid is one tab stop and the selected card
 * is its `aria-activedescendant`; arrows, Page Up/Down, Home and End move the selection.
 */
import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';
import { moveSelection } from '../../utils/review.js';

/** Card width and gap, CSS px (review.css uses the same). */
export const CELL_WIDTH = 176;
export const CELL_GAP = 12;
/** Row height (card plus gap), CSS px. */
export const ROW_HEIGHT = 268;

export class ReviewGrid {
  /**
   * @param {HTMLElement} el the scroll container (`role="grid"`)
   * @param {{renderCell: (item: object, index: number) => HTMLElement,
   *   onOpen: (index: number) => void, onKey?: (e: KeyboardEvent, index: number) => boolean}} opts
   *   renderCell: a card; onOpen: Enter or a click on a card; onKey: other keys (true when handled)
   */
  constructor(el, { renderCell, onOpen, onKey = () => false }) {
    this.el = el;
    this.renderCell = renderCell;
    this.onOpen = onOpen;
    this.onKey = onKey;
    this.items = [];
    this.columns = 1;
    this.active = -1;
    /** @type {Map<number, HTMLElement>} row index -> row element */
    this.rows = new Map();
    this.inner = document.createElement('div');
    this.inner.className = 'grid-inner';
    el.append(this.inner);
    this.virtualizer = new Virtualizer({
      count: 0,
      getScrollElement: () => this.el,
      estimateSize: () => ROW_HEIGHT,
      overscan: 2,
      scrollToFn: elementScroll,
      observeElementRect,
      observeElementOffset,
      onChange: () => this.render(),
    });
    this.virtualizer._didMount();
    new ResizeObserver(() => this.layout()).observe(el);
    el.addEventListener('keydown', (e) => this.keydown(e));
    el.addEventListener('click', (e) => {
      const cell = e.target.closest?.('.cell');
      if (!cell) return;
      this.select(Number(cell.dataset.index));
      this.onOpen(this.active);
    });
  }

  /**
   * Show these items (the view's results in order), keeping the selection on the same index
   * where it still exists.
   * @param {object[]} items
   */
  setItems(items) {
    this.items = items;
    if (this.active >= items.length) this.active = items.length - 1;
    this.refresh();
  }

  /** Rebuild every visible card (after decisions or the model changed). */
  refresh() {
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    this.layout(true);
  }

  /**
   * Fit the columns to the width and tell the virtualizer the row count.
   * @param {boolean} [force] re-measure even when the count is unchanged
   */
  layout(force = false) {
    const width = this.el.clientWidth;
    const columns = Math.max(1, Math.floor((width - CELL_GAP) / (CELL_WIDTH + CELL_GAP)));
    if (columns !== this.columns) {
      this.columns = columns;
      force = true;
      for (const row of this.rows.values()) row.remove();
      this.rows.clear();
    }
    const count = Math.ceil(this.items.length / this.columns);
    this.el.setAttribute('aria-rowcount', String(count));
    this.el.setAttribute('aria-colcount', String(this.columns));
    if (force || this.virtualizer.options.count !== count) {
      this.virtualizer.setOptions({ ...this.virtualizer.options, count });
    }
    this.virtualizer._willUpdate();
    this.virtualizer.measure();
    this.render();
  }

  /** Draw the rows in view (reusing those already drawn) and drop the others. */
  render() {
    const visible = this.virtualizer.getVirtualItems();
    this.inner.style.height = `${this.virtualizer.getTotalSize()}px`;
    const keep = new Set(visible.map((v) => v.index));
    for (const [i, row] of this.rows) {
      if (!keep.has(i)) {
        row.remove();
        this.rows.delete(i);
      }
    }
    for (const v of visible) {
      let row = this.rows.get(v.index);
      if (!row) {
        row = document.createElement('div');
        row.className = 'row';
        row.setAttribute('role', 'row');
        row.setAttribute('aria-rowindex', String(v.index + 1));
        const start = v.index * this.columns;
        this.items.slice(start, start + this.columns).forEach((item, k) => row.append(this.renderCell(item, start + k)));
        this.inner.append(row);
        this.rows.set(v.index, row);
      }
      row.style.transform = `translateY(${v.start}px)`;
    }
    this.markActive();
  }

  /** Mark the selected card (`aria-selected`) and point `aria-activedescendant` at it. */
  markActive() {
    for (const c of this.inner.querySelectorAll('.cell[aria-selected="true"]')) c.setAttribute('aria-selected', 'false');
    const cell = this.active >= 0 ? this.inner.querySelector(`#cell-${this.active}`) : null;
    if (cell) {
      cell.setAttribute('aria-selected', 'true');
      this.el.setAttribute('aria-activedescendant', cell.id);
    } else {
      this.el.removeAttribute('aria-activedescendant');
    }
  }

  /**
   * Select a card and scroll it into view.
   * @param {number} index
   */
  select(index) {
    if (index < 0 || index >= this.items.length) return;
    this.active = index;
    this.virtualizer.scrollToIndex(Math.floor(index / this.columns), { align: 'auto' });
    this.render();
  }

  /** @param {KeyboardEvent} e */
  keydown(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const pageRows = Math.max(1, Math.floor(this.el.clientHeight / ROW_HEIGHT));
    const next = moveSelection(this.active, e.key, { count: this.items.length, columns: this.columns, pageRows });
    if (next !== null) {
      e.preventDefault();
      this.select(next);
    } else if (e.key === 'Enter' && this.active >= 0) {
      e.preventDefault();
      this.onOpen(this.active);
    } else if (this.active >= 0 && this.onKey(e, this.active)) {
      e.preventDefault();
    }
  }
}
