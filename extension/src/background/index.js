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
import { DEFAULT_SETTINGS, normalizeSettings, siteSchemePatterns } from '../utils/settings.js';
import { createClassifier } from './classifier.js';

const MENU_ID = 'shinsaku-check-image';
const SCRIPT_ID = 'shinsaku-autolabel';

/** @returns {Promise<typeof DEFAULT_SETTINGS>} */
export async function getSettings() {
  return normalizeSettings(await ext.storage.local.get(Object.keys(DEFAULT_SETTINGS)));
}

const classifier = createClassifier({ getSettings });

/* ---------- per-tab tally ---------- */
/** tabId -> Map(url -> result) */
const tallies = new Map();

function recordResult(tabId, url, result) {
  if (tabId === undefined || tabId < 0) return;
  if (!tallies.has(tabId)) tallies.set(tabId, new Map());
  tallies.get(tabId).set(url, { url, ...result });
  updateActionBadge(tabId);
}

function tallyFor(tabId) {
  const results = [...(tallies.get(tabId)?.values() || [])];
  return { counts: summarize(results), results };
}

function updateActionBadge(tabId) {
  const { counts } = tallyFor(tabId);
  const text = counts.ai ? String(counts.ai) : '';
  ext.action.setBadgeText({ tabId, text }).catch(() => {});
  ext.action.setBadgeBackgroundColor({ tabId, color: '#c62828' }).catch(() => {});
}

ext.tabs.onRemoved.addListener((tabId) => tallies.delete(tabId));

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
  ext.contextMenus.create({ id: MENU_ID, title: 'Check this image', contexts: ['image'] }, () => void ext.runtime.lastError);
}
ext.runtime.onInstalled.addListener(() => {
  createMenu().catch(() => {});
  syncAutoLabel().catch(() => {});
});
ext.runtime.onStartup?.addListener(() => {
  createMenu().catch(() => {});
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
  return ext.tabs.sendMessage(tab.id, { type: 'checkImage', srcUrl: info.srcUrl }, { frameId });
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
 * Scan a whole page (popup's "Scan this page"): badge every qualifying image and return
 * the results.
 * @param {number} tabId
 * @returns {Promise<{counts: object, results: object[]}>}
 */
export async function scanTab(tabId) {
  await injectContent(tabId);
  const reply = await ext.tabs.sendMessage(tabId, { type: 'scan' }, { frameId: 0 });
  const results = (reply && reply.results) || [];
  return { counts: summarize(results), results };
}

/* ---------- messages ---------- */

async function onMessage(msg, sender) {
  const tabId = sender.tab?.id;
  switch (msg?.type) {
    case 'hello': {
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
      if (tabId !== undefined && (sender.frameId || 0) === 0) {
        tallies.delete(tabId);
        updateActionBadge(tabId);
      }
      return { auto, settings };
    }
    case 'classify': {
      const opts = msg.bytesB64 ? { bytes: base64ToBytes(msg.bytesB64), type: msg.mime } : {};
      const result = await classifier.classify(msg.url, opts);
      recordResult(tabId, msg.url, result);
      return result;
    }
    case 'status':
      return classifier.status();
    case 'tally':
      return tallyFor(msg.tabId);
    case 'scan':
      return scanTab(msg.tabId);
    default:
      return undefined;
  }
}

ext.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (sender.id !== ext.runtime.id) return false;
  onMessage(msg, sender).then(sendResponse, (e) => sendResponse({ state: 'error', error: 'internal', message: String(e?.message || e) }));
  return true;
});

ext.storage.onChanged.addListener((changes, area) => {
  if (area !== 'local') return;
  if (changes.backendUrl || changes.token) classifier.reset();
  if (changes.sites) syncAutoLabel().catch((e) => console.warn('Shinsaku: sync failed', e));
});

ext.permissions.onRemoved?.addListener(() => syncAutoLabel().catch(() => {}));

// Test and debugging hooks (same code paths as the UI).
globalThis.shinsaku = { handleMenuClick, scanTab, syncAutoLabel, getSettings, classifier, tallyFor, MENU_ID };
