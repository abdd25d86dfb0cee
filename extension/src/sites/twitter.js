/**
 * X / Twitter. Media on `pbs.twimg.com/media/<id>?format=jpg&name=small` (or the older
 * `<id>.jpg:small`) come in named renditions; `name=orig` is the uploaded file, `large` the next.
 */
import { onDomain, parseUrl } from './url.js';

const IMAGE_HOST = 'pbs.twimg.com';

/** @type {import('./registry.js').SiteAdapter} */
export default {
  id: 'twitter',
  matches: (host) => onDomain(host, 'x.com') || onDomain(host, 'twitter.com'),
  imageHosts: [IMAGE_HOST],

  renditions(img) {
    const u = parseUrl(img.url);
    if (!u || u.hostname !== IMAGE_HOST) return [];
    const m = /^\/media\/([A-Za-z0-9_-]+)(?:\.(jpg|jpeg|png|webp))?(?::[a-z0-9]+)?$/.exec(u.pathname);
    if (!m) return [];
    if (u.searchParams.get('name') === 'orig') return [];
    const format = u.searchParams.get('format') || (m[2] === 'jpeg' ? 'jpg' : m[2]) || 'jpg';
    const at = (name) => `https://${IMAGE_HOST}/media/${m[1]}?format=${format}&name=${name}`;
    return [at('orig'), at('large')].filter((x) => x !== img.url);
  },
};
