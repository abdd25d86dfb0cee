import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBand, formatProbability } from '../src/utils/format.js';

test('a probability is never shown as certain', () => {
  assert.equal(formatProbability(0.9996), '> 99%', 'never 100% for 0.9996');
  assert.equal(formatProbability(1), '> 99%');
  assert.equal(formatProbability(0.995), '> 99%');
  assert.equal(formatProbability(0.9901), '> 99%');
  assert.equal(formatProbability(0.0004), '< 1%', 'never 0%');
  assert.equal(formatProbability(0), '< 1%');
  assert.equal(formatProbability(0.0099), '< 1%');
});

test('whole percentages in between, 1% to 99%', () => {
  assert.equal(formatProbability(0.99), '99%');
  assert.equal(formatProbability(0.01), '1%');
  assert.equal(formatProbability(0.874), '87%');
  assert.equal(formatProbability(0.5), '50%');
  assert.equal(formatProbability(0.0149), '1%');
  for (let i = 0; i <= 1000; i++) assert.match(formatProbability(i / 1000), /^(> 99%|< 1%|([1-9]|[1-9]\d)%)$/);
});

test('non-probabilities are not dressed up as numbers', () => {
  for (const v of [undefined, null, NaN, -0.1, 1.2, '0.5']) assert.equal(formatProbability(v), '?');
});

test('uncertain band', () => {
  assert.equal(formatBand([0.349, 0.649]), '35–65%');
  assert.equal(formatBand(undefined), '');
  assert.equal(formatBand([0.3]), '');
});
