/**
 * Danbooru (and its Safebooru mirror `safebooru.donmai.us`). Thumbnails
 * `cdn.donmai.us/<180x180|360x360|720x720>/<aa>/<bb>/<md5>.<ext>` link to the post; the 850-px
 * `sample/<aa>/<bb>/sample-<md5>.jpg` exists for large originals, the 720-px one always. A link
 * straight to an `original/` file (the post page's "view original") is taken first.
 */
import { onDomain, parseUrl } from './url.js';

const CDN = 'cdn.donmai.us';

/** @type {import('./registry.js').SiteAdapter} */
export default {
  id: 'danbooru',
  matches: (host) => onDomain(host, 'donmai.us'),
  imageHosts: [CDN],

  renditions(img) {
    const out = [];
    const link = parseUrl(img.linkHref || '');
    if (link?.hostname === CDN && /^\/original\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{32}\.\w+$/.test(link.pathname)) out.push(link.href);
    const u = parseUrl(img.url);
    const m = u?.hostname === CDN && /^\/(?:\d+x\d+|sample)\/([0-9a-f]{2})\/([0-9a-f]{2})\/(?:sample-)?([0-9a-f]{32})\.\w+$/.exec(u.pathname);
    if (m) out.push(`https://${CDN}/sample/${m[1]}/${m[2]}/sample-${m[3]}.jpg`, `https://${CDN}/720x720/${m[1]}/${m[2]}/${m[3]}.webp`);
    return out.filter((x) => x !== img.url);
  },
};
