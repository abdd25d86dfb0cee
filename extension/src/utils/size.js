/**
 * Size and visibility filter for images worth checking. Pure, unit-tested.
 */

/** Default minimum rendered size, px (both sides). */
export const DEFAULT_MIN_SIZE_PX = 96;

/**
 * Whether a rendered image is big enough to check.
 * @param {number} width rendered width, px
 * @param {number} height rendered height, px
 * @param {number} [minSize=96] minimum for both sides, px
 * @returns {boolean}
 */
export function isBigEnough(width, height, minSize = DEFAULT_MIN_SIZE_PX) {
  const min = Number.isFinite(minSize) && minSize >= 0 ? minSize : DEFAULT_MIN_SIZE_PX;
  return Number.isFinite(width) && Number.isFinite(height) && width >= min && height >= min && width > 0 && height > 0;
}

/**
 * Whether computed style values make an element invisible.
 * @param {{display?: string, visibility?: string, opacity?: string|number}} style
 * @returns {boolean} true when hidden
 */
export function isHiddenStyle(style) {
  if (!style) return false;
  if (style.display === 'none') return true;
  if (style.visibility === 'hidden' || style.visibility === 'collapse') return true;
  if (style.opacity !== undefined && style.opacity !== '' && Number(style.opacity) === 0) return true;
  return false;
}

/**
 * Decide whether an image qualifies for a badge.
 * @param {{width: number, height: number, hidden: boolean}} info rendered size (px) and
 *   whether the image or an ancestor is hidden
 * @param {number} [minSize=96] px
 * @returns {{ok: boolean, reason?: 'hidden'|'too-small'}}
 */
export function qualifies(info, minSize = DEFAULT_MIN_SIZE_PX) {
  if (info.hidden) return { ok: false, reason: 'hidden' };
  if (!isBigEnough(info.width, info.height, minSize)) return { ok: false, reason: 'too-small' };
  return { ok: true };
}
