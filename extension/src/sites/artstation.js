/**
 * ArtStation. Images on `cdn*.artstation.com/p/assets/images/images/<nnn>/<nnn>/<nnn>/<size>/<file>`
 * come in sizes (`micro_square`, `small_square`, `smaller_square`, `small`, `medium`, `large`,
 * `4k`); `large` (up to 1920 px) exists for every upload, `4k` only for big ones.
 */
import { onDomain, parseUrl } from './url.js';

const SMALLER = ['micro_square', 'small_square', 'smaller_square', 'small', 'medium'];

/** @type {import('./registry.js').SiteAdapter} */
export default {
  id: 'artstation',
  matches: (host) => onDomain(host, 'artstation.com'),
  imageHosts: ['cdna.artstation.com', 'cdnb.artstation.com'],

  renditions(img) {
    const u = parseUrl(img.url);
    if (!u || !onDomain(u.hostname, 'artstation.com')) return [];
    const m = /^(\/p\/assets\/(?:images|covers)\/images\/(?:\d+\/){3})([a-z_0-9]+)(\/.+)$/.exec(u.pathname);
    if (!m || !SMALLER.includes(m[2])) return [];
    return [`${u.protocol}//${u.host}${m[1]}large${m[3]}${u.search}`];
  },
};
