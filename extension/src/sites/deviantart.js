/**
 * DeviantArt. Images come from `images-wixmp-*.wixmp.com` with a signed token; the page's own
 * `srcset` lists the renditions the token allows, so the largest candidate is taken (an unsigned
 * bigger size would be refused).
 */
import { onDomain, parseUrl } from './url.js';

/** @type {import('./registry.js').SiteAdapter} */
export default {
  id: 'deviantart',
  matches: (host) => onDomain(host, 'deviantart.com'),
  imageHosts: ['images-wixmp-ed30a86b8c4ca887773594c2.wixmp.com', 'wixmp.com'],

  renditions(img) {
    const largest = [...(img.srcset || [])].filter((c) => c.w).sort((a, b) => b.w - a.w)[0];
    const u = largest && parseUrl(largest.url);
    return u && onDomain(u.hostname, 'wixmp.com') && largest.url !== img.url ? [largest.url] : [];
  },
};
