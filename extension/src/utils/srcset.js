/**
 * Choosing which URL an image actually shows (or will show once it loads).
 * Pure helpers: no DOM access, unit-tested in test/srcset.test.js.
 */

/**
 * Parse a `srcset` attribute into candidates.
 * Handles width (`480w`) and density (`2x`) descriptors and URLs containing commas
 * (as in data: URLs), per the HTML "parse a srcset attribute" algorithm (simplified).
 * @param {string} srcset the attribute value
 * @returns {{url: string, w?: number, x?: number}[]} candidates in source order; a
 *   candidate without descriptor gets `x: 1`
 */
export function parseSrcset(srcset) {
  const out = [];
  if (!srcset || typeof srcset !== 'string') return out;
  let i = 0;
  const n = srcset.length;
  while (i < n) {
    while (i < n && /[\s,]/.test(srcset[i])) i++;
    if (i >= n) break;
    let start = i;
    while (i < n && !/\s/.test(srcset[i])) i++;
    let url = srcset.slice(start, i);
    let descriptor = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      start = i;
      let depth = 0;
      while (i < n) {
        const c = srcset[i];
        if (c === '(') depth++;
        else if (c === ')') depth = Math.max(0, depth - 1);
        else if (c === ',' && depth === 0) break;
        i++;
      }
      descriptor = srcset.slice(start, i).trim();
      i++; // skip the comma
    }
    if (!url) continue;
    const cand = { url };
    const d = descriptor.split(/\s+/).filter(Boolean)[0];
    if (d && /^\d+(\.\d+)?w$/.test(d)) cand.w = parseFloat(d);
    else if (d && /^\d+(\.\d+)?x$/.test(d)) cand.x = parseFloat(d);
    else cand.x = 1;
    out.push(cand);
  }
  return out;
}

/**
 * Pick the srcset candidate a browser would most likely use for a given rendered width.
 * @param {{url: string, w?: number, x?: number}[]} candidates from {@link parseSrcset}
 * @param {number} renderedWidth rendered (CSS) width of the image, px; 0 if unknown
 * @param {number} [dpr=1] device pixel ratio
 * @returns {string|null} chosen URL, or null when there are no candidates
 */
export function pickCandidate(candidates, renderedWidth, dpr = 1) {
  if (!candidates || candidates.length === 0) return null;
  const ratio = dpr > 0 ? dpr : 1;
  const widthCands = candidates.filter((c) => c.w);
  if (widthCands.length) {
    const sorted = [...widthCands].sort((a, b) => a.w - b.w);
    if (!(renderedWidth > 0)) return sorted[sorted.length - 1].url;
    const need = renderedWidth * ratio;
    return (sorted.find((c) => c.w >= need) || sorted[sorted.length - 1]).url;
  }
  const sorted = [...candidates].sort((a, b) => (a.x || 1) - (b.x || 1));
  return (sorted.find((c) => (c.x || 1) >= ratio) || sorted[sorted.length - 1]).url;
}

/**
 * Resolve a possibly relative URL against a base; returns null for unusable values.
 * @param {string|null|undefined} url
 * @param {string} baseUrl document base URL
 * @returns {string|null}
 */
export function absoluteUrl(url, baseUrl) {
  if (!url || typeof url !== 'string') return null;
  const trimmed = url.trim();
  if (!trimmed || trimmed === 'about:blank') return null;
  try {
    return new URL(trimmed, baseUrl).href;
  } catch {
    return null;
  }
}

/**
 * Choose the URL of the bytes an `<img>` shows.
 * Order: `currentSrc` (what the browser loaded, covers `<picture>` and srcset), then the
 * best candidate from the `<picture>` `<source>` srcsets (first with a matching type/media,
 * as supplied by the caller), then the image's own `srcset`, then `src`.
 * @param {object} img plain description of the image
 * @param {string} [img.currentSrc]
 * @param {string} [img.src]
 * @param {string} [img.srcset]
 * @param {string[]} [img.sourceSrcsets] srcsets of the matching `<source>` elements, in order
 * @param {number} [img.renderedWidth] px
 * @param {number} [img.dpr] device pixel ratio
 * @param {string} baseUrl document base URL for relative URLs
 * @returns {string|null} absolute URL, or null if the image has no usable source
 */
export function chooseImageUrl(img, baseUrl) {
  const current = absoluteUrl(img.currentSrc, baseUrl);
  if (current) return current;
  for (const s of img.sourceSrcsets || []) {
    const picked = absoluteUrl(pickCandidate(parseSrcset(s), img.renderedWidth || 0, img.dpr || 1), baseUrl);
    if (picked) return picked;
  }
  const fromSet = absoluteUrl(pickCandidate(parseSrcset(img.srcset), img.renderedWidth || 0, img.dpr || 1), baseUrl);
  if (fromSet) return fromSet;
  return absoluteUrl(img.src, baseUrl);
}

/**
 * Whether the background can fetch this URL itself (http/https), or whether the content
 * script must read the bytes (`data:`, `blob:`). Other schemes are unsupported.
 * @param {string} url absolute URL
 * @returns {'network'|'page'|'unsupported'}
 */
export function urlFetchMode(url) {
  if (/^https?:/i.test(url)) return 'network';
  if (/^(data|blob):/i.test(url)) return 'page';
  return 'unsupported';
}
