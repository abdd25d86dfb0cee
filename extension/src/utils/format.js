/**
 * Probability formatting for people. Pure, unit-tested.
 *
 * A calibrated model is never certain: 0.9996 is shown as "> 99%", never "100%", and 0.0004
 * as "< 1%", never "0%". Everything in between is a whole percentage.
 */

/**
 * @param {number} p a probability in [0, 1]
 * @returns {string} e.g. "> 99%", "87%", "< 1%"; "?" when `p` is not a probability
 */
export function formatProbability(p) {
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) return '?';
  if (p > 0.99) return '> 99%';
  if (p < 0.01) return '< 1%';
  return `${Math.min(99, Math.max(1, Math.round(p * 100)))}%`;
}

/**
 * A band of probabilities, e.g. the model's uncertain band [0.349, 0.649) -> "35–65%".
 * @param {[number, number]|number[]|undefined} band [low, high)
 * @returns {string} "" when there is no valid band
 */
export function formatBand(band) {
  if (!Array.isArray(band) || band.length !== 2 || !band.every((v) => Number.isFinite(v))) return '';
  return `${Math.round(band[0] * 100)}–${Math.round(band[1] * 100)}%`;
}
