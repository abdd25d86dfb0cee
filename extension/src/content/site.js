/**
 * The content script's side of the site adapters (src/sites/): describes an image and its page
 * the way the adapters expect, requests the largest rendition the page offers (falling back to
 * smaller ones and finally the shown image when an image host refuses one), and adds what the
 * page declares about the work to the result's evidence. The badge stays on the visible image.
 */
import { adapterFor, candidateUrls, pageEvidence } from '../sites/registry.js';
import { LABELS } from '../utils/states.js';
import { parseSrcset } from '../utils/srcset.js';

/**
 * @param {Location} loc the page's location
 * @param {Document} doc the page's document
 * @returns {{adapter: object|null, classify: (img: HTMLImageElement|null, url: string,
 *   request: (url: string) => Promise<object>) => Promise<object>}}
 */
export function createSite(loc, doc) {
  const adapter = adapterFor(loc.hostname);
  const page = {
    url: loc.href,
    text(selector) {
      const el = doc.querySelector(selector);
      if (!el) return null;
      return el.tagName === 'META' ? el.getAttribute('content') : el.textContent;
    },
  };

  /** @returns {import('../sites/registry.js').ImageInfo} */
  function imageInfo(img, url) {
    const link = img.closest('a[href]');
    return { url, linkHref: link ? link.href : undefined, srcset: parseSrcset(img.getAttribute('srcset') || '') };
  }

  /**
   * Classify `img` (shown from `url`) through `request`, trying the adapter's renditions first.
   * @param {HTMLImageElement|null} img null when the image is not in this document
   * @param {string} url the URL the page shows
   * @param {(url: string) => Promise<object>} request classifies one URL, resolves a result
   * @returns {Promise<object>} the result, with `renditionUrl` when another rendition was judged
   *   and the page's declared evidence added to `evidence` for verdicts
   */
  async function classify(img, url, request) {
    if (!adapter || !img) return request(url);
    const info = imageInfo(img, url);
    let result = null;
    for (const candidate of candidateUrls(adapter, info)) {
      // eslint-disable-next-line no-await-in-loop
      result = await request(candidate);
      if (candidate !== url) result = { ...result, renditionUrl: candidate };
      if (result.error !== 'image_unreadable') break; // refused or missing rendition: the next one
    }
    const declared = pageEvidence(adapter, page, info);
    if (declared.length && LABELS.includes(result.state)) result = { ...result, evidence: [...(result.evidence || []), ...declared] };
    return result;
  }

  return { adapter, classify };
}
