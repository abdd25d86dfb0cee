import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { DEFAULT_MIN_SIZE_PX, isBigEnough, isHiddenStyle, MAX_ASPECT_RATIO, naturalSizeProblem, qualifies } from '../src/utils/size.js';

test('default minimum is 96 px on both sides', () => {
  assert.equal(DEFAULT_MIN_SIZE_PX, 96);
  assert.equal(isBigEnough(96, 96), true);
  assert.equal(isBigEnough(95.9, 300), false);
  assert.equal(isBigEnough(300, 95), false);
  assert.equal(isBigEnough(0, 0, 0), false, 'zero-size never qualifies');
  assert.equal(isBigEnough(50, 50, 40), true);
  assert.equal(isBigEnough(NaN, 200), false);
});

test('hidden styles', () => {
  assert.equal(isHiddenStyle({ display: 'none' }), true);
  assert.equal(isHiddenStyle({ visibility: 'hidden' }), true);
  assert.equal(isHiddenStyle({ opacity: '0' }), true);
  assert.equal(isHiddenStyle({ display: 'block', visibility: 'visible', opacity: '0.5' }), false);
  assert.equal(isHiddenStyle({ opacity: '' }), false);
});

test('qualifies gives the reason', () => {
  assert.deepEqual(qualifies({ width: 200, height: 200, hidden: false }), { ok: true });
  assert.deepEqual(qualifies({ width: 200, height: 200, hidden: true }), { ok: false, reason: 'hidden' });
  assert.deepEqual(qualifies({ width: 64, height: 64, hidden: false }), { ok: false, reason: 'too-small' });
  assert.deepEqual(qualifies({ width: 64, height: 64, hidden: false }, 32), { ok: true });
});

test('natural size: a page cannot stretch what the backend refuses into a qualifying image', () => {
  const shown = { width: 200, height: 200, hidden: false };
  // The backend's own limit, read from the one definition.
  const backendLimits = JSON.parse(readFileSync(new URL('../../backend/limits.json', import.meta.url)));
  assert.equal(MAX_ASPECT_RATIO, backendLimits.max_aspect_ratio);
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 16384, naturalHeight: 1 }), { ok: false, reason: 'natural-too-small' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 16384, naturalHeight: 64 }), { ok: false, reason: 'extreme-aspect' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 64, naturalHeight: 3201 }), { ok: false, reason: 'extreme-aspect' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 64, naturalHeight: 3200 }), { ok: true }, '50:1 exactly is judged');
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 1, naturalHeight: 1 }), { ok: false, reason: 'natural-too-small' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 16385, naturalHeight: 4000 }), { ok: false, reason: 'too-large' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 8000, naturalHeight: 6000 }), { ok: false, reason: 'too-large' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 0, naturalHeight: 0 }), { ok: false, reason: 'not-loaded' });
  assert.deepEqual(qualifies({ ...shown, naturalWidth: 1200, naturalHeight: 1700 }), { ok: true });
  assert.deepEqual(qualifies(shown), { ok: true }, 'natural size not given: rendered size only');
  assert.equal(naturalSizeProblem(NaN, 100), 'not-loaded');
});
