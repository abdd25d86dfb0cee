/**
 * Popup: backend status, the current site's auto-label switch, "Scan this page" with a
 * summary and a most-likely-AI-first list, CSV export, and "Review this page" (opens the review
 * page for the tab). `popup.html?tabId=N` targets tab N instead of the active tab (used by the tests).
 */
import { ext } from '../../utils/api.js';
import { exportCsv as toExportCsv } from '../../utils/export.js';
import { formatProbability } from '../../utils/format.js';
import { localizePage, t } from '../../utils/i18n.js';
import { sortMostLikelyAiFirst } from '../../utils/label.js';
import { MSG } from '../../utils/messages.js';
import { normalizeSettings, sitePattern } from '../../utils/settings.js';
import { STATE_NAME, stateCss } from '../../utils/states.js';
import { download } from '../download.js';
import { SWITCH, switchSiteOff, switchSiteOn } from './site-switch.js';

const $ = (id) => document.getElementById(id);
let lastResults = [];
let lastPageUrl = '';

async function targetTab() {
  const q = new URLSearchParams(location.search).get('tabId');
  if (q) return ext.tabs.get(Number(q));
  const [tab] = await ext.tabs.query({ active: true, currentWindow: true });
  return tab;
}

async function showStatus() {
  const el = $('backend');
  const s = await ext.runtime.sendMessage({ type: MSG.STATUS });
  el.dataset.ok = String(Boolean(s && s.ok));
  if (s && s.ok) {
    const m = s.model || {};
    el.textContent = t('popupBackendOk', m.name || '?', m.version || '').trim();
  } else {
    el.textContent = (s && s.error) || t('popupBackendUnreachable');
  }
}

async function setupSwitch(tab) {
  const toggle = $('auto-toggle');
  let site = null;
  try {
    const u = new URL(tab.url);
    if (/^https?:$/.test(u.protocol)) site = { host: u.hostname, protocol: u.protocol };
  } catch {
    /* no URL (no tabs permission on this page) */
  }
  if (!site) {
    toggle.disabled = true;
    $('site-host').textContent = t('popupThisPage');
    $('site-note').textContent = t('popupOpenWebPage');
    return;
  }
  $('site-host').textContent = site.host;
  const settings = normalizeSettings(await ext.storage.local.get(null));
  toggle.checked = settings.sites.includes(site.host) &&
    (await ext.permissions.contains({ origins: [sitePattern(site.host, site.protocol)] }));
  const notes = { [SWITCH.ON]: t('switchOn'), [SWITCH.OFF]: t('switchOff'),
    [SWITCH.DENIED]: t('switchDenied'), [SWITCH.PENDING]: t('switchPending') };
  const io = {
    request: (p) => ext.permissions.request(p),
    getSites: async () => normalizeSettings(await ext.storage.local.get(null)).sites,
    setSites: (sites) => ext.storage.local.set({ sites }),
    show: (state) => {
      toggle.checked = state === SWITCH.ON;
      toggle.disabled = state === SWITCH.PENDING;
      toggle.dataset.state = state;
      $('site-note').textContent = notes[state];
    },
  };
  toggle.addEventListener('change', () => {
    if (toggle.checked) switchSiteOn(site, io);
    else switchSiteOff(site, io);
  });
}

function render(counts, results) {
  $('summary').hidden = false;
  for (const k of ['ai', 'uncertain', 'human', 'error']) document.querySelector(`[data-count="${k}"]`).textContent = String(counts[k] || 0);
  const list = $('results');
  list.textContent = '';
  for (const r of sortMostLikelyAiFirst(results)) {
    const li = document.createElement('li');
    li.dataset.state = r.state;
    li.dataset.url = r.url;
    const lbl = document.createElement('span');
    lbl.className = 'lbl';
    lbl.dataset.state = r.state;
    const name = STATE_NAME[r.state] || r.state;
    lbl.textContent = typeof r.probabilityAi === 'number' ? `${name} ${formatProbability(r.probabilityAi)}` : name;
    const a = document.createElement('span');
    a.textContent = r.url.startsWith('data:') ? `${r.url.slice(0, 40)}…` : r.url;
    a.title = r.message || r.url;
    li.append(lbl, a);
    list.append(li);
  }
  lastResults = results;
  $('export').disabled = !results.length;
}

async function scan(tab) {
  $('scan').disabled = true;
  $('scan-state').textContent = t('popupScanning');
  try {
    const { counts, results, pageUrl } = await ext.runtime.sendMessage({ type: MSG.SCAN, tabId: tab.id });
    lastPageUrl = pageUrl || lastPageUrl;
    render(counts, results);
    $('scan-state').textContent = t('popupChecked', counts.total);
    document.body.dataset.scanned = 'true';
  } catch (e) {
    $('scan-state').textContent = t('popupScanFailed', e.message || e);
  } finally {
    $('scan').disabled = false;
  }
}

function exportCsv() {
  const text = toExportCsv({ pageUrl: lastPageUrl, results: sortMostLikelyAiFirst(lastResults) });
  download(text, 'text/csv', 'shinsaku-scan.csv');
}

/** Open the review page for the tab, in a new tab next to it. */
async function openReview(tab) {
  await ext.tabs.create({ url: ext.runtime.getURL(`ui/review/review.html?tabId=${tab.id}`), index: tab.index + 1 });
  window.close();
}

async function init() {
  localizePage(document);
  const style = document.createElement('style');
  style.textContent = stateCss('.lbl');
  document.head.append(style);
  const tab = await targetTab();
  lastPageUrl = tab?.url || '';
  showStatus().catch(() => {});
  await setupSwitch(tab || {});
  $('scan').addEventListener('click', () => scan(tab));
  $('export').addEventListener('click', exportCsv);
  $('review').disabled = !tab;
  $('review').addEventListener('click', () => openReview(tab));
  $('open-options').addEventListener('click', (e) => {
    e.preventDefault();
    ext.runtime.openOptionsPage();
  });
  if (tab) {
    const t = await ext.runtime.sendMessage({ type: MSG.TALLY, tabId: tab.id });
    if (t && t.results.length) render(t.counts, t.results);
  }
}

init();
