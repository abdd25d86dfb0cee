import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MIN_SIZE_PX, isBigEnough, isHiddenStyle, qualifies } from '../src/utils/size.js';

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
