/**
 * Site adapters: what an art site's markup and image hosts need, one small module per site, all
 * with the same interface, asked through this registry by the content script (and the background
 * for the Referer rules, the popup for the image hosts' access). Pure, unit-tested.
 *
 * @typedef {object} ImageInfo what the content script knows about one image
 * @property {string} url the URL the page shows (absolute; `currentSrc`/`srcset` already chosen)
 * @property {string} [linkHref] the absolute `href` of the closest enclosing link, if any
 * @property {{url: string, w?: number, x?: number}[]} [srcset] the image's srcset candidates
 *
 * @typedef {object} PageInfo what the content script knows about the page
 * @property {string} url the page's URL
 * @property {(selector: string) => (string|null)} text text content (or `content` attribute for
 *   `<meta>`) of the first element matching `selector`, null when there is none
 *
 * @typedef {object} Finding one piece of evidence, as the backend's `evidence` items
 *   (`{kind, says, source, excerpt}`; `kind: 'site'` for what the site itself declares)
 *
 * @typedef {object} SiteAdapter
 * @property {string} id short name, e.g. `pixiv`
 * @property {(host: string) => boolean} matches whether the adapter serves pages on this hostname
 * @property {string[]} imageHosts hostnames the site's images come from (access asked with the site)
 * @property {(img: ImageInfo) => string[]} renditions larger renditions of the image to request
 *   instead of the shown one, largest first ([] when none is known); the shown URL is always
 *   tried last by the caller
 * @property {(page: PageInfo, img: ImageInfo) => Finding[]} [evidence] what the page declares
 *   about this image (e.g. its work is declared AI-generated)
 * @property {{imageHost: string, value: string}} [referer] the `Referer` the image host demands
 */
import artstation from './artstation.js';
import danbooru from './danbooru.js';
import deviantart from './deviantart.js';
import gelbooru from './gelbooru.js';
import pixiv from './pixiv.js';
import twitter from './twitter.js';

/** Every adapter, in lookup order. */
export const ADAPTERS = Object.freeze([pixiv, twitter, danbooru, gelbooru, deviantart, artstation]);

/**
 * The adapter for a page's hostname.
 * @param {string} host e.g. `www.pixiv.net`
 * @returns {SiteAdapter|null}
 */
export function adapterFor(host) {
  const h = String(host || '').toLowerCase();
  return ADAPTERS.find((a) => a.matches(h)) || null;
}

/**
 * URLs to try for an image, best first, ending with the shown one (deduplicated). Without an
 * adapter: the shown URL only.
 * @param {SiteAdapter|null} adapter
 * @param {ImageInfo} img
 * @returns {string[]}
 */
export function candidateUrls(adapter, img) {
  let better = [];
  try {
    better = adapter ? adapter.renditions(img) : [];
  } catch {
    better = [];
  }
  return [...new Set([...better, img.url])];
}

/**
 * Access patterns for a site's image hosts, asked for together with the site.
 * @param {string} host the site's hostname
 * @returns {string[]} e.g. `['https://i.pximg.net/*']`
 */
export function imageHostPatterns(host) {
  return (adapterFor(host)?.imageHosts || []).map((h) => `https://${h}/*`);
}

/**
 * declarativeNetRequest session rules giving the extension's own requests (no tab: the background's
 * downloads) the `Referer` an image host demands. Page requests (in tabs) are left alone.
 * @param {number} [firstId=1] id of the first rule
 * @returns {object[]} rules for `declarativeNetRequest.updateSessionRules({addRules})`
 */
export function refererRules(firstId = 1) {
  return ADAPTERS.filter((a) => a.referer).map((a, i) => ({
    id: firstId + i,
    priority: 1,
    action: { type: 'modifyHeaders', requestHeaders: [{ header: 'referer', operation: 'set', value: a.referer.value }] },
    condition: { requestDomains: [a.referer.imageHost], tabIds: [-1], resourceTypes: ['xmlhttprequest'] },
  }));
}

/**
 * What the page declares about an image's work (e.g. Pixiv's "AI-generated" flag), as evidence
 * findings; [] when nothing (or the page's data cannot be read).
 * @param {SiteAdapter|null} adapter
 * @param {PageInfo} page
 * @param {ImageInfo} img
 * @returns {Finding[]}
 */
export function pageEvidence(adapter, page, img) {
  try {
    return adapter?.evidence ? adapter.evidence(page, img) : [];
  } catch {
    return [];
  }
}
