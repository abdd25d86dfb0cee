/**
 * The popup's "Auto-label images on <site>" switch, without the DOM (unit-tested with fakes).
 *
 * Two rules: the permission request is the first thing a click does (Firefox only honours
 * `permissions.request` inside the click's user gesture, before any await), and the switch shows
 * "on" only once access is granted, never while the browser's prompt is still open.
 */
import { imageHostPatterns } from '../../sites/registry.js';
import { sitePattern } from '../../utils/settings.js';

/** What the switch shows. */
export const SWITCH = Object.freeze({ OFF: 'off', PENDING: 'pending', ON: 'on', DENIED: 'denied' });

/**
 * Switch auto-labelling on for one site.
 * Access is asked for the site and, in the same prompt, for the image hosts its adapter names
 * (pixiv's i.pximg.net), which the background downloads from.
 * @param {{host: string, protocol: string}} site the page's hostname and protocol (`'https:'`)
 * @param {object} io
 * @param {(p: {origins: string[]}) => Promise<boolean>} io.request `permissions.request`
 * @param {() => Promise<string[]>} io.getSites the stored `sites` setting
 * @param {(sites: string[]) => Promise<void>} io.setSites store the `sites` setting
 * @param {(state: string) => void} io.show draw the switch in one of the `SWITCH` states
 * @returns {Promise<boolean>} whether auto-labelling is on for the site now; a rejected request
 *   counts as refused
 */
export function switchSiteOn(site, io) {
  const asked = io.request({ origins: [sitePattern(site.host, site.protocol), ...imageHostPatterns(site.host)] });
  io.show(SWITCH.PENDING);
  return asked.then(async (granted) => {
    if (!granted) {
      io.show(SWITCH.DENIED);
      return false;
    }
    const sites = await io.getSites();
    await io.setSites([...new Set([...sites, site.host])]);
    io.show(SWITCH.ON);
    return true;
  }, () => {
    io.show(SWITCH.DENIED);
    return false;
  });
}

/**
 * Switch auto-labelling off for one site (site access is kept; the options page gives it back).
 * @param {{host: string}} site
 * @param {{getSites: () => Promise<string[]>, setSites: (sites: string[]) => Promise<void>,
 *   show: (state: string) => void}} io as for {@link switchSiteOn}
 * @returns {Promise<false>}
 */
export async function switchSiteOff(site, io) {
  const sites = await io.getSites();
  await io.setSites(sites.filter((h) => h !== site.host));
  io.show(SWITCH.OFF);
  return false;
}
