/**
 * Labels, badge texts and summaries. Pure, unit-tested.
 */

/** @typedef {'human'|'ai'|'uncertain'|'checking'|'error'} BadgeState */

export const LABELS = Object.freeze(['human', 'ai', 'uncertain']);

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
    return 'uncertain';
  }
  const band = Math.max(0, Number(uncertainBand) || 0);
  if (probabilityAi >= threshold + band) return 'ai';
  if (probabilityAi < threshold - band) return 'human';
  return 'uncertain';
}

/**
 * Normalise a backend `/v1/classify` answer (or an error) into a result record.
 * The backend's label wins when valid; otherwise it is derived from the probability.
 * Anything malformed becomes an error, never "human".
 * @param {object} body parsed JSON body
 * @returns {{state: BadgeState, label?: string, probabilityAi?: number, modelVersion?: string,
 *   error?: string, message?: string}}
 */
export function resultFromResponse(body) {
  if (!body || typeof body !== 'object') return { state: 'error', error: 'bad_response', message: 'Empty answer' };
  if (body.error) return { state: 'error', error: String(body.error), message: String(body.message || body.error) };
  const p = body.probability_ai;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) {
    return { state: 'error', error: 'bad_response', message: 'No probability in answer' };
  }
  const label = LABELS.includes(body.label) ? body.label : labelFromProbability(p, body.threshold ?? 0.5, 0);
  return { state: label, label, probabilityAi: p, modelVersion: body.model_version ? String(body.model_version) : undefined };
}

/**
 * Short visible text and full text alternative for a badge.
 * @param {{state: BadgeState, probabilityAi?: number, message?: string}} r
 * @returns {{text: string, alt: string}}
 */
export function badgeText(r) {
  const pct = (v) => `${Math.round(v * 100)}%`;
  switch (r.state) {
    case 'ai':
      return { text: `AI ${pct(r.probabilityAi)}`, alt: `Shinsaku: likely AI-generated (probability AI ${pct(r.probabilityAi)})` };
    case 'human':
      return { text: `Human ${pct(1 - r.probabilityAi)}`, alt: `Shinsaku: likely drawn by a person (probability AI ${pct(r.probabilityAi)})` };
    case 'uncertain':
      return { text: `Unsure ${pct(r.probabilityAi)} AI`, alt: `Shinsaku: uncertain (probability AI ${pct(r.probabilityAi)})` };
    case 'checking':
      return { text: 'Checking…', alt: 'Shinsaku: checking this image' };
    default:
      return { text: 'Error', alt: `Shinsaku: could not check this image (${r.message || r.error || 'unknown error'})` };
  }
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
