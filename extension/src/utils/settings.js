/**
 * User settings: defaults and validation. Pure, unit-tested.
 */

export const BADGE_POSITIONS = Object.freeze(['top-left', 'top-right', 'bottom-left', 'bottom-right']);
/** Loopback hosts: the backend's, and the ones the extension always holds `http://` access to. */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** Defaults; stored in `storage.local` under the same keys. */
export const DEFAULT_SETTINGS = Object.freeze({
  backendUrl: 'http://127.0.0.1:8765',
  token: '',
  badgePosition: 'top-left',
  minSize: 96,
  showHuman: true,
  sites: [],
});

/**
 * Whether a backend URL is acceptable: http(s) on a loopback host only, so image bytes
 * never leave the machine.
 * @param {string} url
 * @returns {boolean}
 */
export function isLocalBackendUrl(url) {
  try {
    const u = new URL(url);
    if (!/^https?:$/.test(u.protocol)) return false;
    return LOOPBACK_HOSTS.includes(u.hostname);
  } catch {
    return false;
  }
}

/**
 * Normalise a site entry (URL, origin or bare host) to a lower-case hostname.
 * @param {string} input
 * @returns {string|null}
 */
export function siteFromInput(input) {
  if (!input || typeof input !== 'string') return null;
  let s = input.trim().toLowerCase();
  if (!s) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//.test(s)) s = `http://${s}`;
  try {
    const u = new URL(s);
    if (!/^https?:$/.test(u.protocol) || !u.hostname) return null;
    return u.hostname;
  } catch {
    return null;
  }
}

/**
 * Per-scheme match patterns of a site; the extension may hold permission for only one of them
 * (e.g. the always-granted `http://127.0.0.1/*`).
 * @param {string} host hostname
 * @returns {string[]}
 */
export function siteSchemePatterns(host) {
  return [`http://${host}/*`, `https://${host}/*`];
}

/**
 * Match pattern for a site's permission request: only the scheme the site uses (a page on
 * `http://127.0.0.1` needs no `https` access), or both when the scheme is not known.
 * @param {string} host hostname
 * @param {string} [protocol] `'http:'` or `'https:'`; anything else: both schemes
 * @returns {string} e.g. `https://www.pixiv.net/*`
 */
export function sitePattern(host, protocol) {
  const scheme = protocol === 'http:' || protocol === 'https:' ? protocol.slice(0, -1) : '*';
  return `${scheme}://${host}/*`;
}

/**
 * The scheme a site entered in the options is used with: the one typed (`https://…`), else
 * `http:` for loopback hosts and `https:` for the rest (what art sites serve).
 * @param {string} input what the user typed
 * @returns {'http:'|'https:'|null} null when the input is not a site
 */
export function siteProtocolFromInput(input) {
  const host = siteFromInput(input);
  if (!host) return null;
  const typed = /^\s*(https?):\/\//i.exec(input);
  if (typed) return `${typed[1].toLowerCase()}:`;
  return LOOPBACK_HOSTS.includes(host) ? 'http:' : 'https:';
}

/**
 * Merge stored values over the defaults, dropping invalid ones.
 * @param {object} stored raw values from storage
 * @returns {typeof DEFAULT_SETTINGS}
 */
export function normalizeSettings(stored) {
  const s = { ...DEFAULT_SETTINGS, ...(stored || {}) };
  const out = { ...DEFAULT_SETTINGS };
  if (typeof s.backendUrl === 'string' && isLocalBackendUrl(s.backendUrl)) out.backendUrl = s.backendUrl.replace(/\/+$/, '');
  if (typeof s.token === 'string') out.token = s.token;
  if (BADGE_POSITIONS.includes(s.badgePosition)) out.badgePosition = s.badgePosition;
  const min = Number(s.minSize);
  if (Number.isFinite(min) && min >= 0 && min <= 4096) out.minSize = Math.round(min);
  out.showHuman = s.showHuman !== false;
  if (Array.isArray(s.sites)) out.sites = [...new Set(s.sites.map(siteFromInput).filter(Boolean))];
  return out;
}
