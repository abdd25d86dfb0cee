/**
 * Exports of checked images (review page and popup), as CSV and JSON. Pure, unit-tested.
 *
 * Column names are those of `shinsaku scan` where the two overlap (`label`, `probability_ai`,
 * `error`, `message`; `label` empty for errors, the probability at full precision), so one
 * spreadsheet template reads both. The JSON has scan's shape too: `model`, `summary`, `results`.
 */
import { toCsv } from './csv.js';
import { evidenceSummary, hasEvidence } from './evidence.js';
import { summarize } from './label.js';
import { LABELS } from './states.js';

/** Columns of `shinsaku scan`'s CSV that exports share (same names, same meaning). */
export const SCAN_SHARED_COLUMNS = Object.freeze(['label', 'probability_ai', 'error', 'message']);

/**
 * Export columns; `evidence` only when results carry evidence.
 * @param {boolean} [withEvidence]
 * @returns {string[]}
 */
export function exportColumns(withEvidence = false) {
  return [
    'page_url', 'image_url', 'image_sha256', 'label', 'probability_ai', 'model_version', 'model_sha256',
    ...(withEvidence ? ['evidence'] : []), 'decision', 'decided_at', 'error', 'message',
  ];
}

/**
 * One exported row.
 * @param {object} r result record (`url`, `state`, `probabilityAi`, `imageSha256`, ...)
 * @param {string} pageUrl
 * @param {{decision?: string, at?: string}|undefined} decision the moderator's record, if any
 * @returns {Record<string, string|number|null>}
 */
export function exportRow(r, pageUrl, decision) {
  const row = {
    page_url: pageUrl,
    image_url: r.url,
    image_sha256: r.imageSha256 || '',
    label: LABELS.includes(r.state) ? r.state : '',
    probability_ai: typeof r.probabilityAi === 'number' ? r.probabilityAi : '',
    model_version: r.modelVersion || '',
    model_sha256: r.modelSha256 || '',
    decision: decision?.decision || '',
    decided_at: decision?.at || '',
    error: LABELS.includes(r.state) ? '' : r.error || r.state,
    message: r.message || '',
  };
  if (Array.isArray(r.evidence)) row.evidence = evidenceSummary(r.evidence);
  return row;
}

/**
 * @param {{pageUrl: string, results: object[], decisions?: Record<string, object>}} data
 * @returns {string} CSV text
 */
export function exportCsv({ pageUrl, results, decisions = {} }) {
  const withEvidence = hasEvidence(results);
  const rows = results.map((r) => exportRow(r, pageUrl, decisions[r.url]));
  if (withEvidence) for (const row of rows) row.evidence ??= '';
  return toCsv(exportColumns(withEvidence), rows);
}

/**
 * @param {{pageUrl: string, title?: string, model?: object|null, results: object[],
 *   decisions?: Record<string, object>, now?: Date}} data
 * @returns {string} JSON text
 */
export function exportJson({ pageUrl, title = '', model = null, results, decisions = {}, now = new Date() }) {
  const withEvidence = hasEvidence(results);
  const cols = exportColumns(withEvidence);
  const rows = results.map((r) => {
    const row = exportRow(r, pageUrl, decisions[r.url]);
    const out = Object.fromEntries(cols.map((c) => [c, row[c] === '' ? null : row[c] ?? null]));
    if (Array.isArray(r.evidence)) out.evidence_findings = r.evidence;
    return out;
  });
  const m = model
    ? { name: model.name ?? null, version: model.version ?? null, sha256: model.model_sha256 ?? model.sha256 ?? null,
      threshold: model.threshold ?? null, uncertain_band: model.uncertain_band ?? null }
    : null;
  const { checking, ...summary } = summarize(results); // scan's summary has no "checking"
  void checking;
  return `${JSON.stringify({ page: { url: pageUrl, title }, exported_at: now.toISOString(), model: m, summary, results: rows }, null, 1)}\n`;
}
