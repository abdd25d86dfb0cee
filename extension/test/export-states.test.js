import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { exportColumns, exportCsv, exportJson, SCAN_SHARED_COLUMNS } from '../src/utils/export.js';
import { MSG } from '../src/utils/messages.js';
import { FINAL_STATES, STATE, STATE_COLORS, STATE_NAME, stateCss } from '../src/utils/states.js';

const PAGE = 'https://art.example/gallery';
const results = [
  { url: 'https://cdn/1.png', state: 'ai', probabilityAi: 0.9996, modelVersion: '1.0.0', imageSha256: '1'.repeat(64), modelSha256: 'm'.repeat(64) },
  { url: 'https://cdn/=2.png', state: 'error', error: 'unsupported_image', message: '-not an image' },
];
const decisions = { 'https://cdn/1.png': { decision: 'confirmed_ai', at: '2026-01-02T03:04:05.000Z' } };

/** `FIELDS` of backend/scan.py, read from its source (the extension has no Python). */
function scanFields() {
  const src = readFileSync(new URL('../../backend/scan.py', import.meta.url), 'utf8');
  const m = src.match(/^FIELDS\s*=\s*\(([^)]*)\)/m);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

test('export columns use shinsaku scan\'s names where the two overlap', () => {
  const scan = scanFields();
  for (const c of SCAN_SHARED_COLUMNS) assert.ok(scan.includes(c), `scan has ${c}`);
  const ours = exportColumns(true);
  for (const c of SCAN_SHARED_COLUMNS) assert.ok(ours.includes(c), `export has ${c}`);
  // Hash, model and evidence columns scan gains (image_sha256, model_sha256, ...) must be spelled as ours.
  for (const c of scan.filter((name) => /sha256|model|evidence|decision/.test(name))) {
    assert.ok(ours.includes(c), `scan column ${c} has no twin in the export`);
  }
});

test('CSV: one row per image, labels empty for errors, decisions, formula cells escaped', () => {
  const csv = exportCsv({ pageUrl: PAGE, results, decisions });
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines[0], 'page_url,image_url,image_sha256,label,probability_ai,model_version,model_sha256,decision,decided_at,error,message');
  assert.equal(lines[1], `${PAGE},https://cdn/1.png,${'1'.repeat(64)},ai,0.9996,1.0.0,${'m'.repeat(64)},confirmed_ai,2026-01-02T03:04:05.000Z,,`);
  assert.equal(lines[2], `${PAGE},https://cdn/=2.png,,,,,,,,unsupported_image,'-not an image`);
  const withEvidence = exportCsv({ pageUrl: PAGE, results: [{ ...results[0], evidence: [] }, results[1]] });
  assert.match(withEvidence.split('\r\n')[0], /,model_sha256,evidence,decision,/);
});

test('JSON: scan\'s shape (model, summary, results) plus page and decisions', () => {
  const model = { name: 'shinsaku-detector', version: '1.0.0', sha256: 'm'.repeat(64), threshold: 0.35, uncertain_band: [0.35, 0.65] };
  const doc = JSON.parse(exportJson({ pageUrl: PAGE, title: 'G', model, results, decisions, now: new Date('2026-01-01T00:00:00Z') }));
  assert.deepEqual(doc.page, { url: PAGE, title: 'G' });
  assert.equal(doc.model.sha256, 'm'.repeat(64));
  assert.deepEqual(doc.summary, { human: 0, ai: 1, uncertain: 0, error: 1, total: 2 });
  assert.equal(doc.results[0].decision, 'confirmed_ai');
  assert.equal(doc.results[0].probability_ai, 0.9996);
  assert.equal(doc.results[1].label, null);
  assert.equal(doc.results[1].message, '-not an image', 'JSON needs no formula escaping');
});

test('one states module: every state has a name, colours and CSS; message types are unique', () => {
  for (const s of Object.values(STATE)) {
    assert.ok(STATE_NAME[s] && STATE_COLORS[s], s);
    assert.match(stateCss('.x'), new RegExp(`\\.x\\[data-state="${s}"\\] \\{ background: ${STATE_COLORS[s].bg}`));
  }
  assert.deepEqual(FINAL_STATES, ['ai', 'uncertain', 'human', 'error']);
  assert.equal(new Set(Object.values(MSG)).size, Object.values(MSG).length);
});
