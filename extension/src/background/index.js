/**
 * Background (MV3 service worker on Chromium, event page on Firefox).
 * - classifies images for content scripts (bytes go to the local backend only)
 * - keeps the auto-label content script registered for the sites the user switched on
 * - context menu "Check this image" (works anywhere via activeTab)
 * - per-tab tally shown on the toolbar button
 */
import { ext } from '../utils/api.js';
import { base64ToBytes } from '../utils/bytes.js';
import { summarize } from '../utils/label.js';
import { MSG } from '../utils/messages.js';
import { DEFAULT_SETTINGS, normalizeSettings, siteSchemePatterns } from '../utils/settings.js';
import { STATE } from '../utils/states.js';
import { t } from '../utils/i18n.js';
import { createClassifier } from './classifier.js';
import { syncRefererRules } from './referer.js';
import { recordedResult, recordResult, resetTally, tallyFor } from './tallies.js';

const MENU_ID = 'shinsaku-check-image';
const SCRIPT_ID = 'shinsaku-autolabel';

/** @returns {Promise<typeof DEFAULT_SETTINGS>} */
export async function getSettings() {
  return normalizeSettings(await ext.storage.local.get(Object.keys(DEFAULT_SETTINGS)));
}

const classifier = createClassifier({ getSettings });

/* ---------- auto-label registration ---------- */

/**
 * Register the content script for the enabled sites we hold permission for, and inject it
 * into tabs already open on them.
 */
let syncChain = Promise.resolve();
export function syncAutoLabel() {
  // Serialised: overlapping unregister/register calls would collide on the script ID.
  const run = syncChain.then(doSyncAutoLabel, doSyncAutoLabel);
  syncChain = run.catch(() => {});
  return run;
}

async function doSyncAutoLabel() {
  const { sites } = await getSettings();
  const matches = [];
  for (const host of sites) {
    for (const pattern of siteSchemePatterns(host)) {
      // eslint-disable-next-line no-await-in-loop
      if (await ext.permissions.contains({ origins: [pattern] })) matches.push(pattern);
    }
  }
  try {
    await ext.scripting.unregisterContentScripts({ ids: [SCRIPT_ID] });
  } catch {
    /* not registered */
  }
  if (!matches.length) return matches;
  await ext.scripting.registerContentScripts([{ id: SCRIPT_ID, matches, js: ['content.js'], runAt: 'document_idle' }]);
  const tabs = await ext.tabs.query({ url: matches });
  await Promise.all(tabs.map((t) => injectContent(t.id).catch(() => {})));
  return matches;
}

/**
 * Inject the content script (idempotent: it ignores a second injection).
 * @param {number} tabId
 * @param {number} [frameId] default: top frame
 */
export async function injectContent(tabId, frameId) {
  const target = frameId ? { tabId, frameIds: [frameId] } : { tabId };
  await ext.scripting.executeScript({ target, files: ['content.js'] });
}

/* ---------- context menu ---------- */

async function createMenu() {
  await ext.contextMenus.removeAll();
  ext.contextMenus.create({ id: MENU_ID, title: t('menuCheckImage'), contexts: ['image'] }, () => void ext.runtime.lastError);
}
ext.runtime.onInstalled.addListener(() => {
  createMenu().catch(() => {});
  syncRefererRules().catch((e) => console.warn('Shinsaku: Referer rules failed', e));
  syncAutoLabel().catch(() => {});
});
ext.runtime.onStartup?.addListener(() => {
  createMenu().catch(() => {});
  syncRefererRules().catch((e) => console.warn('Shinsaku: Referer rules failed', e));
  syncAutoLabel().catch(() => {});
});

/**
 * "Check this image": inject the content script into the clicked frame (activeTab grants
 * access) and have it badge that one image.
 * @param {{menuItemId: string, srcUrl?: string, frameId?: number}} info
 * @param {{id: number}} tab
 * @returns {Promise<object>} the content script's result
 */
export async function handleMenuClick(info, tab) {
  if (info.menuItemId !== MENU_ID || !tab || !info.srcUrl) return null;
  const frameId = info.frameId || 0;
  await injectContent(tab.id, frameId);
  return ext.tabs.sendMessage(tab.id, { type: MSG.CHECK_IMAGE, srcUrl: info.srcUrl }, { frameId });
}
/**
 * Ask for read access to the clicked image's host, while the menu click's user gesture lasts
 * (a later, awaited call would lose it). Without it, an image on a CDN that sends no CORS
 * headers cannot be fetched. An origin already granted resolves at once, with no prompt.
 * @param {string|undefined} srcUrl
 * @returns {Promise<boolean>} whether access is granted (false for non-http(s) URLs)
 */
function requestImageOrigin(srcUrl) {
  let url;
  try {
    url = new URL(srcUrl || '');
  } catch {
    return Promise.resolve(false);
  }
  if (!/^https?:$/.test(url.protocol)) return Promise.resolve(false);
  return ext.permissions.request({ origins: [`${url.protocol}//${url.hostname}/*`] }).catch(() => false);
}

ext.contextMenus.onClicked.addListener((info, tab) => {
  requestImageOrigin(info.srcUrl)
    .then(() => handleMenuClick(info, tab))
    .catch((e) => console.warn('Shinsaku: check failed', e));
});

/**
 * Scan a whole page (popup's "Scan this page", the review page): badge every qualifying image
 * and return the results, with the thumbnails made when they were classified.
 * @param {number} tabId
 * @returns {Promise<{counts: object, results: object[], pageUrl: string, title: string}>}
 */
export async function scanTab(tabId) {
  await injectContent(tabId);
  const reply = await ext.tabs.sendMessage(tabId, { type: MSG.SCAN }, { frameId: 0 });
  const results = ((reply && reply.results) || []).map((r) => {
    const thumbnail = recordedResult(tabId, r.url)?.thumbnail ?? classifier.peek(r.url)?.thumbnail;
    return thumbnail ? { ...r, thumbnail } : r;
  });
  return { counts: summarize(results), results, pageUrl: reply?.pageUrl || '', title: reply?.title || '' };
}

/**
 * Bring a tab to the front, scroll its page to an image and flash the image's outline.
 * @param {number} tabId
 * @param {string} url the image URL, as in the results
 * @returns {Promise<{found: boolean}>}
 */
export async function locateImage(tabId, url) {
  const tab = await ext.tabs.update(tabId, { active: true });
  if (tab?.windowId !== undefined) await ext.windows.update(tab.windowId, { focused: true }).catch(() => {});
  await injectContent(tabId);
  const reply = await ext.tabs.sendMessage(tabId, { type: MSG.LOCATE, url }, { frameId: 0 });
  return { found: Boolean(reply && reply.found) };
}

/* ---------- messages ---------- */

async function onMessage(msg, sender) {
  const tabId = sender.tab?.id;
  switch (msg?.type) {
    case MSG.HELLO: {
      const settings = await getSettings();
      let page = null;
      try {
        page = new URL(sender.url || sender.tab?.url || '');
      } catch {
        /* ignore */
      }
      const auto = Boolean(page) && settings.sites.includes(page.hostname) &&
        /^https?:$/.test(page.protocol) &&
        (await ext.permissions.contains({ origins: [`${page.protocol}//${page.hostname}/*`] }));
      if (tabId !== undefined && (sender.frameId || 0) === 0) resetTally(tabId);
      return { auto, settings };
    }
    case MSG.CLASSIFY: {
      const opts = msg.bytesB64 ? { bytes: base64ToBytes(msg.bytesB64), type: msg.mime } : {};
      const result = await classifier.classify(msg.url, opts);
      recordResult(tabId, msg.url, result);
      const { thumbnail, ...forPage } = result; // the page has the image itself
      return forPage;
    }
    case MSG.EXPLAIN:
      return classifier.explain(msg.url, msg.bytesB64 ? { bytes: base64ToBytes(msg.bytesB64), type: msg.mime } : {});
    case MSG.STATUS:
      return classifier.status();
    case MSG.TALLY:
      return tallyFor(msg.tabId);
    case MSG.SCAN:
      return scanTab(msg.tabId);
    case MSG.LOCATE:
      return locateImage(msg.tabId, msg.url);
    default:
      return undefined;
  }
}

ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (sender.id !== ext.runtime.id) return false;
  onMessage(msg, sender).then(sendResponse, (e) => sendResponse({ state: STATE.ERROR, error: 'internal', message: String(e?.message || e) }));
  return true;
});

ext.storage.onChanged.addListener((changes, area) => {
  if (area !== 'local') return;
  if (changes.backendUrl || changes.token) classifier.reset();
  if (changes.sites) syncAutoLabel().catch((e) => console.warn('Shinsaku: sync failed', e));
});

ext.permissions.onRemoved?.addListener(() => syncAutoLabel().catch(() => {}));

// Test and debugging hooks (same code paths as the UI).
globalThis.shinsaku = { handleMenuClick, scanTab, locateImage, syncAutoLabel, getSettings, classifier, tallyFor, MENU_ID, MSG };
