/**
 * Options page: backend URL, token, badge position, minimum size, human badges, sites.
 */
import { ext } from '../../utils/api.js';
import { localizePage, t } from '../../utils/i18n.js';
import { correctionsCsv, correctionsJson, loadAllDecisions } from '../../utils/corrections.js';
import { formatProbability } from '../../utils/format.js';
import { download } from '../download.js';
import { DEFAULT_SETTINGS, isLocalBackendUrl, normalizeSettings, siteFromInput, sitePattern, siteProtocolFromInput, siteSchemePatterns } from '../../utils/settings.js';

const $ = (id) => document.getElementById(id);

async function load() {
  return normalizeSettings(await ext.storage.local.get(Object.keys(DEFAULT_SETTINGS)));
}

function renderSites(sites) {
  const ul = $('sites');
  ul.textContent = '';
  if (!sites.length) {
    const li = document.createElement('li');
    li.textContent = t('optNoSites');
    ul.append(li);
  }
  for (const host of sites) {
    const li = document.createElement('li');
    li.textContent = host;
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = t('optRemove');
    b.addEventListener('click', async () => {
      const s = await load();
      await ext.storage.local.set({ sites: s.sites.filter((h) => h !== host) });
      // Give the site access back (fails harmlessly for always-granted loopback hosts).
      for (const pattern of siteSchemePatterns(host)) await ext.permissions.remove({ origins: [pattern] }).catch(() => {});
      renderSites((await load()).sites);
    });
    li.append(b);
    ul.append(li);
  }
}

async function renderCorrections() {
  const records = await loadAllDecisions(ext.storage.local);
  const body = $('corrections').tBodies[0];
  body.textContent = '';
  for (const r of records) {
    const tr = document.createElement('tr');
    tr.dataset.sha256 = r.imageSha256 || '';
    const model = `${r.modelLabel || ''}${typeof r.probabilityAi === 'number' ? ` (${formatProbability(r.probabilityAi)} AI)` : ''}`;
    for (const text of [new Date(r.at).toLocaleString(), r.imageUrl, model, r.userLabel || r.decision]) {
      const td = document.createElement('td');
      td.textContent = text || '';
      tr.append(td);
    }
    body.append(tr);
  }
  $('corrections-empty').hidden = records.length > 0;
  return records;
}

async function init() {
  localizePage(document);
  renderCorrections();
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && Object.keys(changes).some((k) => k.startsWith('decisions:'))) renderCorrections();
  });
  $('export-corrections-csv').addEventListener('click', async () => {
    download(correctionsCsv(await loadAllDecisions(ext.storage.local)), 'text/csv', 'shinsaku-corrections.csv');
  });
  $('export-corrections-json').addEventListener('click', async () => {
    download(correctionsJson(await loadAllDecisions(ext.storage.local)), 'application/json', 'shinsaku-corrections.json');
  });
  const s = await load();
  $('backendUrl').value = s.backendUrl;
  $('token').value = s.token;
  $('badgePosition').value = s.badgePosition;
  $('minSize').value = String(s.minSize);
  $('showHuman').checked = s.showHuman;
  renderSites(s.sites);

  $('form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const url = $('backendUrl').value.trim();
    if (!isLocalBackendUrl(url)) {
      $('saved').textContent = t('optBackendLocalOnly');
      return;
    }
    const next = normalizeSettings({
      ...(await load()),
      backendUrl: url,
      token: $('token').value,
      badgePosition: $('badgePosition').value,
      minSize: Number($('minSize').value),
      showHuman: $('showHuman').checked,
    });
    await ext.storage.local.set(next);
    $('saved').textContent = t('optSaved');
  });

  $('add-site').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('new-site').value;
    const host = siteFromInput(input);
    if (!host) return;
    // First call of the submit (Firefox needs the user gesture); only the scheme the site uses.
    const granted = await ext.permissions.request({ origins: [sitePattern(host, siteProtocolFromInput(input))] });
    if (!granted) return;
    const cur = await load();
    await ext.storage.local.set({ sites: [...new Set([...cur.sites, host])] });
    $('new-site').value = '';
    renderSites((await load()).sites);
  });
}

init();
