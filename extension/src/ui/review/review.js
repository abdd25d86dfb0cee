/**
 * Review page (`review.html?tabId=N`, opened by the popup's "Review this page"): every checked
 * image of tab N in a virtualised grid, sorted and filtered, with the moderator's decisions
 * (kept in extension storage per page), "Locate" in the page, and CSV / JSON export.
 */
import { ext } from '../../utils/api.js';
import { loadDecisions, saveDecision, storageKey } from '../../utils/decisions.js';
import { hasEvidence } from '../../utils/evidence.js';
import { exportCsv, exportJson } from '../../utils/export.js';
import { formatBand, formatProbability } from '../../utils/format.js';
import { localizePage, t } from '../../utils/i18n.js';
import { MSG } from '../../utils/messages.js';
import { shortcutAction, stateCounts, visibleResults } from '../../utils/review.js';
import { FINAL_STATES, STATE_NAME, stateCss } from '../../utils/states.js';
import { download } from '../download.js';
import { renderCard } from './card.js';
import { DetailDialog } from './detail.js';
import { ReviewGrid } from './grid.js';

const $ = (id) => document.getElementById(id);
const tabId = Number(new URLSearchParams(location.search).get('tabId'));

const state = {
  results: [],
  pageUrl: '',
  title: '',
  model: null,
  decisions: {},
  shown: [],
  view: { sort: 'ai-first', states: new Set(FINAL_STATES), decision: 'any', disagreeOnly: false },
};

const grid = new ReviewGrid($('grid'), {
  renderCell: (r, index) => renderCard(r, {
    index, decision: state.decisions[r.url]?.decision, model: state.model, showEvidence: hasEvidence(state.results),
  }),
  onOpen: (index) => openDetail(index),
  onKey: (e, index) => runShortcut(e.key, index),
});

const detail = new DetailDialog($('detail'), {
  onDecide: (decision) => decide(grid.active, decision),
  onLocate: () => locate(grid.active),
  onStep: (delta) => {
    grid.select(Math.min(state.shown.length - 1, Math.max(0, grid.active + delta)));
    openDetail(grid.active);
  },
  onKey: (e) => runShortcut(e.key, grid.active),
});
$('detail').addEventListener('close', () => $('grid').focus());

function setStatus(text) {
  $('status').textContent = text;
}

/** Apply the view: filter counts, visible results, grid. */
function update() {
  const counts = stateCounts(state.results);
  for (const s of FINAL_STATES) $(`count-${s}`).textContent = `(${counts[s]})`;
  $('disagree-wrap').hidden = !hasEvidence(state.results);
  state.shown = visibleResults(state.results, state.view, state.decisions);
  grid.setItems(state.shown);
  document.body.dataset.shown = String(state.shown.length);
  const decided = Object.keys(state.decisions).length;
  setStatus(t('revShown', state.shown.length, state.results.length, decided));
  $('export-csv').disabled = $('export-json').disabled = !state.shown.length;
}

function openDetail(index) {
  const r = state.shown[index];
  if (!r) return;
  detail.note('');
  detail.show(r, {
    decision: state.decisions[r.url], model: state.model, pageUrl: state.pageUrl,
    position: `${index + 1} of ${state.shown.length}`,
  });
}

/** @returns {boolean} whether the key was a shortcut */
function runShortcut(key, index) {
  const action = shortcutAction(key);
  if (!action || index < 0) return false;
  if (action.type === 'decide') decide(index, action.decision);
  else locate(index);
  return true;
}

async function decide(index, decision) {
  const r = state.shown[index];
  if (!r || !state.pageUrl) return;
  state.decisions = await saveDecision(ext.storage.local, state.pageUrl, r, decision);
  afterDecisionsChanged();
}

function afterDecisionsChanged() {
  const url = state.shown[grid.active]?.url;
  state.shown = visibleResults(state.results, state.view, state.decisions);
  const keep = state.shown.findIndex((r) => r.url === url);
  grid.active = keep >= 0 ? keep : Math.min(grid.active, state.shown.length - 1);
  update();
  if (detail.isOpen) openDetail(grid.active);
}

async function locate(index) {
  const r = state.shown[index];
  if (!r) return;
  const reply = await ext.runtime.sendMessage({ type: MSG.LOCATE, tabId, url: r.url }).catch(() => null);
  const text = reply?.found ? t('revLocated') : t('revNotFound');
  document.body.dataset.located = reply?.found ? r.url : '';
  if (detail.isOpen) detail.note(text);
  else setStatus(text);
}

async function loadModel() {
  const s = await ext.runtime.sendMessage({ type: MSG.STATUS }).catch(() => null);
  const m = s?.ok ? s.model : null;
  state.model = m;
  $('model-info').textContent = m
    ? t('revModel', m.name, m.version, formatProbability(m.threshold), formatBand(m.uncertain_band))
    : (s?.error || t('popupBackendUnreachable'));
}

async function scan() {
  $('rescan').disabled = true;
  setStatus(t('revScanning'));
  const progress = setInterval(async () => {
    const tally = await ext.runtime.sendMessage({ type: MSG.TALLY, tabId }).catch(() => null);
    if (tally) setStatus(t('revScanProgress', tally.counts.total - tally.counts.checking));
  }, 1000);
  try {
    const reply = await ext.runtime.sendMessage({ type: MSG.SCAN, tabId });
    state.results = reply.results;
    state.pageUrl = reply.pageUrl;
    state.title = reply.title;
    $('page-title').textContent = reply.title ? `— ${reply.title}` : '';
    $('page-url').textContent = reply.pageUrl;
    state.decisions = await loadDecisions(ext.storage.local, state.pageUrl);
    update();
    document.body.dataset.ready = 'true';
  } catch (e) {
    setStatus(t('revScanFailed', e.message || e));
  } finally {
    clearInterval(progress);
    $('rescan').disabled = false;
  }
}

function exportFile(kind) {
  const data = { pageUrl: state.pageUrl, title: state.title, model: state.model, results: state.shown, decisions: state.decisions };
  let host = 'page';
  try {
    host = new URL(state.pageUrl).hostname || host;
  } catch {
    /* keep "page" */
  }
  const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
  const name = `shinsaku-review-${host}-${stamp}.${kind}`;
  if (kind === 'csv') download(exportCsv(data), 'text/csv', name);
  else download(exportJson(data), 'application/json', name);
}

function setupToolbar() {
  const style = document.createElement('style');
  style.textContent = `${stateCss('.chip')}\n${stateCss('.marker')}`;
  document.head.append(style);
  for (const s of FINAL_STATES) {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.id = `filter-${s}`;
    box.addEventListener('change', () => {
      if (box.checked) state.view.states.add(s);
      else state.view.states.delete(s);
      update();
    });
    const count = document.createElement('span');
    count.className = 'count';
    count.id = `count-${s}`;
    label.append(box, ` ${STATE_NAME[s]} `, count);
    $('state-filter').append(label);
  }
  $('sort').addEventListener('change', (e) => { state.view.sort = e.target.value; update(); });
  $('decision-filter').addEventListener('change', (e) => { state.view.decision = e.target.value; update(); });
  $('disagree').addEventListener('change', (e) => { state.view.disagreeOnly = e.target.checked; update(); });
  $('rescan').addEventListener('click', () => scan());
  $('export-csv').addEventListener('click', () => exportFile('csv'));
  $('export-json').addEventListener('click', () => exportFile('json'));
  ext.storage.onChanged.addListener((changes, area) => {
    const change = area === 'local' && state.pageUrl && changes[storageKey(state.pageUrl)];
    if (!change) return;
    state.decisions = change.newValue || {};
    afterDecisionsChanged();
  });
}

async function init() {
  localizePage(document);
  setupToolbar();
  if (!Number.isInteger(tabId)) {
    setStatus(t('revOpenFromToolbar'));
    return;
  }
  await loadModel();
  await scan();
  $('grid').focus();
}

init();
