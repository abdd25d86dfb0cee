/**
 * Corrections and decisions across every page, for the options page's list and its CSV/JSON
 * exports (the records of decisions.js: image sha256, page URL, the model's answer, the person's
 * label, time). Kept in extension storage only; exporting is the user's own act. Pure but for
 * {@link loadAllDecisions}, which reads the store.
 */
import { toCsv } from './csv.js';

/** Columns of the corrections CSV, in order. */
export const CORRECTION_COLUMNS = Object.freeze([
  'decided_at', 'page_url', 'image_url', 'image_sha256', 'model_label', 'probability_ai', 'model_version',
  'user_label', 'decision',
]);

/**
 * Every stored decision record, newest first.
 * @param {{get: (keys: null) => Promise<object>}} storage e.g. `ext.storage.local`
 * @returns {Promise<object[]>}
 */
export async function loadAllDecisions(storage) {
  const all = (await storage.get(null)) || {};
  return Object.entries(all)
    .filter(([key, value]) => key.startsWith('decisions:') && value && typeof value === 'object')
    .flatMap(([, byImage]) => Object.values(byImage))
    .filter((r) => r && typeof r === 'object')
    .sort((a, b) => String(b.at).localeCompare(String(a.at)));
}

/**
 * A record as an export row (keys {@link CORRECTION_COLUMNS}).
 * @param {object} r a decisions.js record
 * @returns {Record<string, string|number|null>}
 */
export function correctionRow(r) {
  return {
    decided_at: r.at || '', page_url: r.pageUrl || '', image_url: r.imageUrl || '', image_sha256: r.imageSha256 || '',
    model_label: r.modelLabel || '', probability_ai: typeof r.probabilityAi === 'number' ? r.probabilityAi : '',
    model_version: r.modelVersion || '', user_label: r.userLabel || '', decision: r.decision || '',
  };
}

/** @param {object[]} records @returns {string} CSV text */
export function correctionsCsv(records) {
  return toCsv(CORRECTION_COLUMNS, records.map(correctionRow));
}

/** @param {object[]} records @param {Date} [now] @returns {string} JSON text `{exported_at, corrections}` */
export function correctionsJson(records, now = new Date()) {
  return `${JSON.stringify({ exported_at: now.toISOString(), corrections: records.map(correctionRow) }, null, 1)}\n`;
}
