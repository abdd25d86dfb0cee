/**
 * User settings: defaults and validation. Pure, unit-tested.
 */

export const BADGE_POSITIONS = Object.freeze(['top-left', 'top-right', 'bottom-left', 'bottom-right']);

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
    return ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
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
 * Match pattern covering a site (http and https, any path), as requested from the user.
 * @param {string} host hostname
 * @returns {string}
 */
export function sitePattern(host) {
  return `*://${host}/*`;
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
