import assert from 'node:assert/strict';
import { test } from 'node:test';
import { moveSelection, NO_DECISION, shortcutAction, SORTS, stateCounts, visibleResults } from '../src/utils/review.js';

const rs = [
  { url: 'a', state: 'human', probabilityAi: 0.1 },
  { url: 'b', state: 'error', error: 'image_unreadable' },
  { url: 'c', state: 'ai', probabilityAi: 0.95 },
  { url: 'd', state: 'uncertain', probabilityAi: 0.5 },
  { url: 'e', state: 'ai', probabilityAi: 0.7, evidence: [{ kind: 'exif', says: 'camera' }] },
  { url: 'f', state: 'human', probabilityAi: 0.1 },
];
const urls = (list) => list.map((r) => r.url);

test('sort by P(AI) either way, errors last, ties in page order; or page order', () => {
  assert.deepEqual(urls(visibleResults(rs, { sort: SORTS.AI_FIRST })), ['c', 'e', 'd', 'a', 'f', 'b']);
  assert.deepEqual(urls(visibleResults(rs, { sort: SORTS.HUMAN_FIRST })), ['a', 'f', 'd', 'e', 'c', 'b']);
  assert.deepEqual(urls(visibleResults(rs, { sort: SORTS.PAGE })), urls(rs));
  assert.equal(rs[0].url, 'a', 'input not mutated');
});

test('filter by label, decision and evidence disagreement', () => {
  assert.deepEqual(urls(visibleResults(rs, { states: ['error'] })), ['b']);
  assert.deepEqual(urls(visibleResults(rs, { states: ['ai', 'uncertain'] })), ['c', 'e', 'd']);
  const decisions = { c: { decision: 'confirmed_ai' }, a: { decision: 'follow_up' } };
  assert.deepEqual(urls(visibleResults(rs, { decision: 'confirmed_ai' }, decisions)), ['c']);
  assert.deepEqual(urls(visibleResults(rs, { decision: NO_DECISION, sort: SORTS.PAGE }, decisions)), ['b', 'd', 'e', 'f']);
  assert.deepEqual(urls(visibleResults(rs, { disagreeOnly: true })), ['e']);
  assert.deepEqual(stateCounts(rs), { ai: 2, uncertain: 1, human: 2, error: 1 });
  assert.equal(stateCounts([{ state: 'checking' }]).error, 1, 'unchecked counts as error');
});

test('keyboard moves in a grid of 10 cells, 4 wide', () => {
  const g = { count: 10, columns: 4, pageRows: 2 };
  assert.equal(moveSelection(-1, 'ArrowRight', g), 0, 'first key selects the first cell');
  assert.equal(moveSelection(0, 'ArrowRight', g), 1);
  assert.equal(moveSelection(0, 'ArrowLeft', g), 0);
  assert.equal(moveSelection(1, 'ArrowDown', g), 5);
  assert.equal(moveSelection(8, 'ArrowDown', g), 9, 'last row: clamp to the last cell');
  assert.equal(moveSelection(5, 'ArrowUp', g), 1);
  assert.equal(moveSelection(0, 'PageDown', g), 8);
  assert.equal(moveSelection(9, 'PageUp', g), 1);
  assert.equal(moveSelection(4, 'Home', g), 0);
  assert.equal(moveSelection(4, 'End', g), 9);
  assert.equal(moveSelection(4, 'x', g), null);
  assert.equal(moveSelection(0, 'ArrowRight', { count: 0, columns: 4 }), null);
});

test('one-key shortcuts', () => {
  assert.deepEqual(shortcutAction('a'), { type: 'decide', decision: 'confirmed_ai' });
  assert.deepEqual(shortcutAction('H'), { type: 'decide', decision: 'confirmed_human' });
  assert.deepEqual(shortcutAction('f'), { type: 'decide', decision: 'follow_up' });
  assert.deepEqual(shortcutAction('0'), { type: 'decide', decision: null });
  assert.deepEqual(shortcutAction('l'), { type: 'locate' });
  assert.equal(shortcutAction('q'), null);
});
