/**
 * Gelbooru-software boorus: Gelbooru (`img*.gelbooru.com`) and Safebooru (`safebooru.org`).
 * Thumbnails `.../thumbnails/<dir>/thumbnail_<md5>.jpg` have a `samples/<dir>/sample_<md5>.jpg`
 * (about 850 px) when the original is larger; the original's extension is not in the thumbnail,
 * so a link straight to an `images/` file is taken first.
 */
import { onDomain, parseUrl } from './url.js';

const SITES = ['gelbooru.com', 'safebooru.org'];

/** @type {import('./registry.js').SiteAdapter} */
export default {
  id: 'gelbooru',
  matches: (host) => SITES.some((d) => onDomain(host, d)),
  imageHosts: ['img3.gelbooru.com', 'img4.gelbooru.com', 'safebooru.org'],

  renditions(img) {
    const out = [];
    const onSite = (u) => u && SITES.some((d) => onDomain(u.hostname, d));
    const link = parseUrl(img.linkHref || '');
    if (onSite(link) && /^\/+images\/.+\.(jpe?g|png|webp|gif)$/i.test(link.pathname)) out.push(link.href);
    const u = parseUrl(img.url);
    const m = onSite(u) && /^\/+thumbnails\/(.+)\/thumbnail_([0-9a-f]{32})\.\w+$/.exec(u.pathname);
    if (m) out.push(`${u.protocol}//${u.host}/samples/${m[1]}/sample_${m[2]}.jpg`);
    return out.filter((x) => x !== img.url);
  },
};
