import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decisionForUserLabel, decisionRecord, DECISIONS, loadDecisions, pageKey, saveDecision, storageKey, userLabelOf,
} from '../src/utils/decisions.js';

/** An in-memory stand-in for `storage.local` (same get/set contract). */
function fakeStorage() {
  const data = {};
  return {
    data,
    async get(key) { return key in data ? { [key]: structuredClone(data[key]) } : {}; },
    async set(items) { for (const [k, v] of Object.entries(items)) data[k] = structuredClone(v); },
  };
}

const result = (url, extra = {}) => ({ url, state: 'ai', probabilityAi: 0.93, modelVersion: '1.0.0', imageSha256: 'f'.repeat(64), ...extra });

test('decisions are kept per page, without the #fragment', () => {
  assert.equal(pageKey('https://art.example/g?p=2#top'), 'https://art.example/g?p=2');
  assert.equal(storageKey('https://art.example/g#x'), 'decisions:https://art.example/g');
});

test('a record carries what a correction needs', () => {
  const r = decisionRecord(result('https://cdn/1.png'), 'https://art.example/g#x', DECISIONS.CONFIRMED_HUMAN, new Date('2026-01-02T03:04:05Z'));
  assert.deepEqual(r, {
    decision: 'confirmed_human', at: '2026-01-02T03:04:05.000Z', pageUrl: 'https://art.example/g',
    imageUrl: 'https://cdn/1.png', imageSha256: 'f'.repeat(64), modelLabel: 'ai', probabilityAi: 0.93,
    modelVersion: '1.0.0', userLabel: 'human',
  });
  assert.throws(() => decisionRecord(result('x'), 'p', 'maybe'));
  assert.equal(userLabelOf(DECISIONS.FOLLOW_UP), null);
  assert.equal(decisionForUserLabel('ai'), DECISIONS.CONFIRMED_AI, '"This label is wrong" writes the same store');
});

test('quick successive marks are all kept; clearing removes one', async () => {
  const storage = fakeStorage();
  const page = 'https://art.example/g';
  await Promise.all([
    saveDecision(storage, page, result('u1'), DECISIONS.CONFIRMED_AI),
    saveDecision(storage, page, result('u2'), DECISIONS.FOLLOW_UP),
    saveDecision(storage, page, result('u3'), DECISIONS.CONFIRMED_HUMAN),
  ]);
  let all = await loadDecisions(storage, `${page}#again`);
  assert.deepEqual(Object.keys(all).sort(), ['u1', 'u2', 'u3']);
  all = await saveDecision(storage, page, result('u2'), null);
  assert.deepEqual(Object.keys(all).sort(), ['u1', 'u3']);
  assert.deepEqual(await loadDecisions(storage, 'https://other.example/'), {});
});
