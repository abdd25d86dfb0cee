import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evidenceDisagrees, evidenceSummary, evidenceVerdict, hasEvidence } from '../src/utils/evidence.js';

// Findings in the shape the evidence issue specifies; the backend sends none yet.
const c2pa = { kind: 'c2pa', says: 'ai', source: 'c2pa.actions', valid: true, issuer: 'Adobe' };
const camera = { kind: 'exif', says: 'camera', source: 'Make' };

test('no evidence field: no evidence parts, nothing invented', () => {
  assert.equal(hasEvidence([{ state: 'ai' }]), false);
  assert.equal(evidenceSummary(undefined), '');
  assert.equal(evidenceVerdict(undefined), null);
  assert.equal(evidenceDisagrees({ state: 'human' }), false);
});

test('evidence verdict and disagreement with the model', () => {
  assert.equal(hasEvidence([{ state: 'ai' }, { state: 'ai', evidence: [] }]), true);
  assert.equal(evidenceVerdict([]), null, 'absence proves nothing');
  assert.equal(evidenceVerdict([camera, c2pa]), 'ai');
  assert.equal(evidenceVerdict([camera]), 'human');
  assert.equal(evidenceVerdict([{ ...c2pa, valid: false }]), null, 'an invalid signature is no evidence');
  assert.equal(evidenceDisagrees({ state: 'human', evidence: [c2pa] }), true);
  assert.equal(evidenceDisagrees({ state: 'ai', evidence: [camera] }), true);
  assert.equal(evidenceDisagrees({ state: 'ai', evidence: [c2pa] }), false);
  assert.equal(evidenceDisagrees({ state: 'uncertain', evidence: [c2pa] }), false);
});

test('one-line summary', () => {
  assert.equal(evidenceSummary([]), 'none');
  assert.equal(evidenceSummary([c2pa, { kind: 'png_text', says: 'ai', valid: false }]), 'c2pa (c2pa.actions): ai; png_text: ai [invalid]');
});
