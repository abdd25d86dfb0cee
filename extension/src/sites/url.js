/**
 * URL helpers shared by the site adapters. Pure.
 */

/**
 * Whether `host` is `domain` or one of its subdomains.
 * @param {string} host
 * @param {string} domain
 * @returns {boolean}
 */
export function onDomain(host, domain) {
  return host === domain || host.endsWith(`.${domain}`);
}

/**
 * Parse an absolute URL, or null.
 * @param {string} url
 * @returns {URL|null}
 */
export function parseUrl(url) {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}
