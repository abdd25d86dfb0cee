/**
 * The review page's view: which results are shown, in which order, and where the keyboard
 * moves the selection in the grid. Pure, unit-tested.
 */
import { DECISION_TEXT } from './decisions.js';
import { evidenceDisagrees } from './evidence.js';
import { FINAL_STATES, LABELS, STATE } from './states.js';

/** Sort orders offered by the review page. */
export const SORTS = Object.freeze({
  AI_FIRST: 'ai-first',
  HUMAN_FIRST: 'human-first',
  PAGE: 'page',
});

/** Decision filter values: any, none yet, or one of DECISIONS. */
export const ANY_DECISION = 'any';
export const NO_DECISION = 'none';

/**
 * The state a result is filtered under: its label, else "error" (unchecked counts as error).
 * @param {{state: string}} r
 * @returns {string}
 */
export function filterState(r) {
  return LABELS.includes(r.state) ? r.state : STATE.ERROR;
}

/**
 * Results shown for a view.
 * @param {object[]} results in page order
 * @param {{sort?: string, states?: Iterable<string>, decision?: string, disagreeOnly?: boolean}} view
 *   states: the states to show (default all); decision: ANY_DECISION, NO_DECISION or a decision;
 *   disagreeOnly: only results whose evidence disagrees with the model
 * @param {Record<string, {decision: string}>} [decisions] imageUrl -> record
 * @returns {object[]} a new array
 */
export function visibleResults(results, view = {}, decisions = {}) {
  const states = new Set(view.states ?? FINAL_STATES);
  const decision = view.decision ?? ANY_DECISION;
  const shown = results.filter((r) => {
    if (!states.has(filterState(r))) return false;
    const d = decisions[r.url]?.decision;
    if (decision === NO_DECISION && d) return false;
    if (decision !== ANY_DECISION && decision !== NO_DECISION && d !== decision) return false;
    return !view.disagreeOnly || evidenceDisagrees(r);
  });
  if (view.sort === SORTS.PAGE) return shown;
  const sign = view.sort === SORTS.HUMAN_FIRST ? -1 : 1;
  const key = (r) => (typeof r.probabilityAi === 'number' && LABELS.includes(r.state) ? r.probabilityAi : null);
  return shown
    .map((r, i) => [r, i])
    .sort(([a, i], [b, j]) => {
      const ka = key(a);
      const kb = key(b);
      if (ka === null || kb === null) return (ka === null) - (kb === null) || i - j; // errors last
      return sign * (kb - ka) || i - j;
    })
    .map(([r]) => r);
}

/**
 * Count results per final state.
 * @param {object[]} results
 * @returns {Record<string, number>}
 */
export function stateCounts(results) {
  const c = Object.fromEntries(FINAL_STATES.map((s) => [s, 0]));
  for (const r of results) c[filterState(r)]++;
  return c;
}

/**
 * Where a key moves the selection in a grid of `count` cells laid out `columns` wide.
 * @param {number} index current index (-1: none yet)
 * @param {string} key a KeyboardEvent.key
 * @param {{count: number, columns: number, pageRows?: number}} grid
 * @returns {number|null} the new index, or null when the key is not a move
 */
export function moveSelection(index, key, { count, columns, pageRows = 3 }) {
  if (count <= 0) return null;
  const cols = Math.max(1, columns);
  const i = Math.min(Math.max(index, 0), count - 1);
  const clamp = (v) => Math.min(count - 1, Math.max(0, v));
  switch (key) {
    case 'ArrowRight': return index < 0 ? 0 : clamp(i + 1);
    case 'ArrowLeft': return clamp(i - 1);
    case 'ArrowDown': return index < 0 ? 0 : clamp(i + cols);
    case 'ArrowUp': return clamp(i - cols);
    case 'PageDown': return clamp(i + cols * pageRows);
    case 'PageUp': return clamp(i - cols * pageRows);
    case 'Home': return 0;
    case 'End': return count - 1;
    default: return null;
  }
}

/**
 * The review page's one-key shortcuts (grid and detail dialog): A / H / F mark confirmed AI,
 * confirmed human, needs follow-up; 0 or Delete clears the mark; L locates the image in its page.
 * @param {string} key a KeyboardEvent.key
 * @returns {{type: 'decide', decision: string|null}|{type: 'locate'}|null}
 */
export function shortcutAction(key) {
  const k = key.toLowerCase();
  for (const [decision, t] of Object.entries(DECISION_TEXT)) if (t.key === k) return { type: 'decide', decision };
  if (k === '0' || k === 'delete' || k === 'backspace') return { type: 'decide', decision: null };
  if (k === 'l') return { type: 'locate' };
  return null;
}
