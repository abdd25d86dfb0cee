/**
 * Pixiv. Images live on `i.pximg.net`, which refuses requests without a Pixiv `Referer` (the
 * background's downloads get one from a declarativeNetRequest rule, see registry.refererRules).
 * Thumbnails `/c/<size>/img-master/img/<date>/<id>_p0_square1200.jpg` (and `custom-thumb`) have
 * the 1200-px `img-master/..._master1200.jpg` rendition. A work whose artist declared it
 * AI-generated carries `aiType: 2` in the page's preload data: that is shown as evidence.
 */
import { onDomain, parseUrl } from './url.js';

const IMAGE_HOST = 'i.pximg.net';
/** pixiv's value for "the artist declared this work AI-generated". */
const AI_TYPE_DECLARED_AI = 2;

/** @type {import('./registry.js').SiteAdapter} */
export default {
  id: 'pixiv',
  matches: (host) => onDomain(host, 'pixiv.net'),
  imageHosts: [IMAGE_HOST],
  referer: { imageHost: IMAGE_HOST, value: 'https://www.pixiv.net/' },

  renditions(img) {
    const u = parseUrl(img.url);
    if (!u || u.hostname !== IMAGE_HOST) return [];
    const m = /^(?:\/c\/[^/]+)?\/(?:img-master|custom-thumb)\/img\/((?:\d+\/){6})(\d+_p\d+)_(?:square|custom|master)1200\.(jpg|png)$/.exec(u.pathname);
    if (!m) return [];
    const master = `https://${IMAGE_HOST}/img-master/img/${m[1]}${m[2]}_master1200.jpg`;
    return master === img.url ? [] : [master];
  },

  evidence(page, img) {
    const id = /\/artworks\/(\d+)/.exec(parseUrl(page.url)?.pathname || '')?.[1];
    // Only the page's own work (its pages _p0, _p1...), not the related works' thumbnails.
    if (!id || !new RegExp(`/${id}_p\\d+_`).test(img?.url || '')) return [];
    const raw = page.text('meta#meta-preload-data');
    if (!raw) return [];
    const work = JSON.parse(raw)?.illust?.[id];
    if (work?.aiType !== AI_TYPE_DECLARED_AI) return [];
    return [{ kind: 'site', says: 'ai', source: 'pixiv:aiType', excerpt: 'AI-generated, as declared by the artist on pixiv' }];
  },
};
