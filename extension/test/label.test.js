import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelFromProbability, resultFromResponse, sortMostLikelyAiFirst, summarize } from '../src/utils/label.js';
import { badgeText } from '../src/utils/states.js';

test('labelFromProbability with threshold and uncertain band', () => {
  assert.equal(labelFromProbability(0.9), 'ai');
  assert.equal(labelFromProbability(0.1), 'human');
  assert.equal(labelFromProbability(0.5), 'ai', 'at the threshold: ai');
  assert.equal(labelFromProbability(0.55, 0.5, 0.1), 'uncertain');
  assert.equal(labelFromProbability(0.45, 0.5, 0.1), 'uncertain');
  assert.equal(labelFromProbability(0.39, 0.5, 0.1), 'human');
  assert.equal(labelFromProbability(0.6, 0.5, 0.1), 'ai');
  assert.equal(labelFromProbability(0.7, 0.8), 'human');
});

test('invalid probabilities are never human', () => {
  for (const p of [NaN, -0.1, 1.5, undefined, null, '0.1']) assert.equal(labelFromProbability(p), 'uncertain');
});

test('resultFromResponse: backend label wins; malformed answers and errors are errors', () => {
  assert.deepEqual(resultFromResponse({ label: 'uncertain', probability_ai: 0.52, model_version: 'v1' }),
    { state: 'uncertain', label: 'uncertain', probabilityAi: 0.52, modelVersion: 'v1' });
  assert.equal(resultFromResponse({ probability_ai: 0.9, threshold: 0.5 }).state, 'ai');
  assert.equal(resultFromResponse({ error: 'unsupported_format', message: 'no' }).state, 'error');
  assert.equal(resultFromResponse({ label: 'human' }).state, 'error', 'no probability: error, not human');
  assert.equal(resultFromResponse(null).state, 'error');
  const sha = (c) => c.repeat(64);
  const split = resultFromResponse({ label: 'ai', probability_ai: 0.9, image_sha256: sha('A'), model_sha256: sha('b'), sha256: sha('c') });
  assert.equal(split.imageSha256, sha('a'), 'hashes lower-cased');
  assert.equal(split.modelSha256, sha('b'));
  assert.equal(resultFromResponse({ label: 'ai', probability_ai: 0.9, sha256: sha('c') }).modelSha256, sha('c'));
  assert.equal(resultFromResponse({ label: 'ai', probability_ai: 0.9, image_sha256: 'nope' }).imageSha256, undefined);
  assert.equal(resultFromResponse({ label: 'ai', probability_ai: 0.9 }).evidence, undefined, 'no evidence invented');
  assert.deepEqual(resultFromResponse({ label: 'ai', probability_ai: 0.9, evidence: [] }).evidence, []);
  assert.equal(resultFromResponse('oops').state, 'error');
});

test('badgeText shows label, probability and a text alternative', () => {
  assert.deepEqual(badgeText({ state: 'ai', probabilityAi: 0.934 }).text, 'AI 93%');
  assert.equal(badgeText({ state: 'human', probabilityAi: 0.12 }).text, 'Human 88%');
  assert.match(badgeText({ state: 'human', probabilityAi: 0.12 }).alt, /person.*12%/);
  assert.match(badgeText({ state: 'uncertain', probabilityAi: 0.5 }).text, /50%/);
  assert.match(badgeText({ state: 'checking' }).alt, /checking/);
  const err = badgeText({ state: 'error', message: 'Backend unreachable' });
  assert.equal(err.text, 'Error');
  assert.equal(badgeText({ state: 'ai', probabilityAi: 0.9996 }).text, 'AI > 99%', 'never 100%');
  assert.equal(badgeText({ state: 'human', probabilityAi: 0.0004 }).text, 'Human > 99%');
  const marked = badgeText({ state: 'ai', probabilityAi: 0.8 }, 'follow_up');
  assert.match(marked.text, /Follow-up/);
  assert.match(marked.alt, /moderator: needs follow-up/);
  assert.doesNotMatch(err.text + err.alt, /human|person/i);
  assert.match(err.alt, /Backend unreachable/);
});

test('summarize and sort most-likely-AI first, errors last', () => {
  const rs = [
    { url: 'a', state: 'human', probabilityAi: 0.1 },
    { url: 'b', state: 'error' },
    { url: 'c', state: 'ai', probabilityAi: 0.95 },
    { url: 'd', state: 'uncertain', probabilityAi: 0.5 },
    { url: 'e', state: 'ai', probabilityAi: 0.7 },
  ];
  assert.deepEqual(summarize(rs), { human: 1, ai: 2, uncertain: 1, error: 1, checking: 0, total: 5 });
  assert.deepEqual(sortMostLikelyAiFirst(rs).map((r) => r.url), ['c', 'e', 'd', 'a', 'b']);
  assert.equal(rs[0].url, 'a', 'input not mutated');
  assert.equal(summarize([{ state: 'weird' }]).error, 1, 'unknown states count as errors');
});
