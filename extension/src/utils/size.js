/**
 * Size and visibility filter for images worth checking. Pure, unit-tested.
 *
 * Two sizes count: the rendered one (CSS px on the page, the user's minimum) and the natural
 * one (the image's own pixels), which a page cannot fake with CSS. An image whose own pixels the
 * backend would refuse (backend/limits.json: side, pixels, aspect ratio) is never sent.
 */

import limits from '../../../backend/limits.json' with { type: 'json' };

/** Default minimum rendered size, px (both sides). */
export const DEFAULT_MIN_SIZE_PX = 96;
/** Smallest natural side sent, px: below it the image is an icon or a pixel stretched by CSS. */
export const MIN_NATURAL_SIDE_PX = 32;
/** Longest side over the shortest the backend judges (422 `extreme_aspect_ratio` beyond). */
export const MAX_ASPECT_RATIO = limits.max_aspect_ratio;
/** Largest natural side the backend decodes, px (413 beyond). */
export const MAX_SIDE_PX = limits.max_side;
/** Largest natural size the backend decodes, pixels (width x height; 413 beyond). */
export const MAX_PIXELS = limits.max_pixels;

/**
 * What is wrong with an image's natural (intrinsic) size for the backend, if anything.
 * @param {number} naturalWidth px; 0 while the image has not loaded
 * @param {number} naturalHeight px
 * @returns {null|'not-loaded'|'natural-too-small'|'too-large'|'extreme-aspect'} null when fine
 */
export function naturalSizeProblem(naturalWidth, naturalHeight) {
  const w = Number(naturalWidth);
  const h = Number(naturalHeight);
  if (!(w > 0) || !(h > 0)) return 'not-loaded';
  if (Math.min(w, h) < MIN_NATURAL_SIDE_PX) return 'natural-too-small';
  if (Math.max(w, h) > MAX_SIDE_PX || w * h > MAX_PIXELS) return 'too-large';
  if (Math.max(w, h) / Math.min(w, h) > MAX_ASPECT_RATIO) return 'extreme-aspect';
  return null;
}

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
 * @param {{width: number, height: number, hidden: boolean, naturalWidth?: number,
 *   naturalHeight?: number}} info rendered size (px), whether the image or an ancestor is
 *   hidden, and the natural size (px; checked when given, 0 while not loaded)
 * @param {number} [minSize=96] px
 * @returns {{ok: boolean, reason?: 'hidden'|'too-small'|'not-loaded'|'natural-too-small'|'too-large'|'extreme-aspect'}}
 */
export function qualifies(info, minSize = DEFAULT_MIN_SIZE_PX) {
  if (info.hidden) return { ok: false, reason: 'hidden' };
  if (!isBigEnough(info.width, info.height, minSize)) return { ok: false, reason: 'too-small' };
  if (info.naturalWidth !== undefined || info.naturalHeight !== undefined) {
    const problem = naturalSizeProblem(info.naturalWidth, info.naturalHeight);
    if (problem) return { ok: false, reason: problem };
  }
  return { ok: true };
}
