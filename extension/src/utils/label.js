/**
 * Labels from probabilities, backend answers as result records, summaries. Pure, unit-tested.
 * (States, their texts and colours: states.js.)
 */
import { LABELS, STATE } from './states.js';

/** @typedef {import('./states.js').BadgeState} BadgeState */

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Label from P(AI): "ai" at or above threshold + band, "human" below threshold - band,
 * "uncertain" in between. Invalid probabilities give "uncertain" (never "human").
 * @param {number} probabilityAi in [0, 1]
 * @param {number} [threshold=0.5]
 * @param {number} [uncertainBand=0] half-width of the uncertain band around the threshold
 * @returns {'human'|'ai'|'uncertain'}
 */
export function labelFromProbability(probabilityAi, threshold = 0.5, uncertainBand = 0) {
  if (typeof probabilityAi !== 'number' || !Number.isFinite(probabilityAi) || probabilityAi < 0 || probabilityAi > 1) {
    return STATE.UNCERTAIN;
  }
  const band = Math.max(0, Number(uncertainBand) || 0);
  if (probabilityAi >= threshold + band) return STATE.AI;
  if (probabilityAi < threshold - band) return STATE.HUMAN;
  return STATE.UNCERTAIN;
}

/**
 * Normalise a backend `/v1/classify` answer (or an error) into a result record.
 * The backend's label wins when valid; otherwise it is derived from the probability.
 * Anything malformed becomes an error, never "human".
 * Hashes: `image_sha256` (the bytes received) and `model_sha256`; from a backend older than that
 * split, whose one `sha256` field is the model's, `sha256` is taken as the model's hash.
 * `evidence` is kept only when the backend sends it (see evidence.js).
 * @param {object} body parsed JSON body
 * @returns {{state: BadgeState, label?: string, probabilityAi?: number, modelVersion?: string,
 *   imageSha256?: string, modelSha256?: string, evidence?: object[], error?: string, message?: string}}
 */
export function resultFromResponse(body) {
  if (!body || typeof body !== 'object') return { state: STATE.ERROR, error: 'bad_response', message: 'Empty answer' };
  if (body.error) return { state: STATE.ERROR, error: String(body.error), message: String(body.message || body.error) };
  const p = body.probability_ai;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
    return { state: STATE.ERROR, error: 'bad_response', message: 'No probability in answer' };
  }
  const label = LABELS.includes(body.label) ? body.label : labelFromProbability(p, body.threshold ?? 0.5, 0);
  const r = { state: label, label, probabilityAi: p, modelVersion: body.model_version ? String(body.model_version) : undefined };
  const hash = (v) => (typeof v === 'string' && SHA256_HEX.test(v.toLowerCase()) ? v.toLowerCase() : undefined);
  const imageSha256 = hash(body.image_sha256);
  const modelSha256 = hash(body.model_sha256) ?? (body.image_sha256 === undefined ? hash(body.sha256) : undefined);
  if (imageSha256) r.imageSha256 = imageSha256;
  if (modelSha256) r.modelSha256 = modelSha256;
  if (Array.isArray(body.evidence)) r.evidence = body.evidence;
  return r;
}

/**
 * Normalise a backend `/v1/explain` answer: the result of {@link resultFromResponse} plus
 * `heat` (grid x grid numbers in [0, 1], row-major from the top-left), `overlayPng` (base64 PNG
 * to lay over the crop), `method`, and `crop` `{x, y, width, height, imageWidth, imageHeight}` in
 * pixels of the EXIF-oriented image. A malformed heat map or crop becomes an error result.
 * @param {object} body parsed JSON body
 * @returns {object}
 */
export function explanationFromResponse(body) {
  const r = resultFromResponse(body);
  if (r.state === STATE.ERROR) return r;
  const hm = body.heatmap || {};
  const c = body.crop || {};
  const grid = hm.heat;
  const okGrid = Array.isArray(grid) && grid.length > 0 &&
    grid.every((row) => Array.isArray(row) && row.length === grid.length &&
      row.every((v) => typeof v === 'number' && v >= 0 && v <= 1));
  const dims = ['x', 'y', 'width', 'height', 'image_width', 'image_height'];
  const okCrop = dims.every((k) => typeof c[k] === 'number' && Number.isFinite(c[k]) && c[k] >= 0) && c.width > 0 && c.height > 0;
  if (!okGrid || !okCrop || typeof hm.overlay_png !== 'string') {
    return { state: STATE.ERROR, error: 'bad_response', message: 'Malformed explanation' };
  }
  return {
    ...r, heat: grid, overlayPng: hm.overlay_png, method: String(hm.method || ''),
    crop: { x: c.x, y: c.y, width: c.width, height: c.height, imageWidth: c.image_width, imageHeight: c.image_height },
  };
}

/**
 * Count results per state.
 * @param {{state: BadgeState}[]} results
 * @returns {{human: number, ai: number, uncertain: number, error: number, checking: number, total: number}}
 */
export function summarize(results) {
  const s = { human: 0, ai: 0, uncertain: 0, error: 0, checking: 0, total: 0 };
  for (const r of results || []) {
    if (r.state in s) s[r.state]++;
    else s.error++;
    s.total++;
  }
  return s;
}

/**
 * Sort results most-likely-AI first; errors and unchecked images last. Stable.
 * @template {{state: BadgeState, probabilityAi?: number}} T
 * @param {T[]} results
 * @returns {T[]} a new array
 */
export function sortMostLikelyAiFirst(results) {
  const key = (r) => (LABELS.includes(r.state) && typeof r.probabilityAi === 'number' ? r.probabilityAi : -1);
  return results
    .map((r, i) => [r, i])
    .sort((a, b) => key(b[0]) - key(a[0]) || a[1] - b[1])
    .map(([r]) => r);
}
