/**
 * DOM for one checked image: the grid's card, and the P(AI) bar with the model's uncertain band
 * (shared by the cards and the detail dialog). Texts and colours come from the states module.
 */
import { DECISION_TEXT } from '../../utils/decisions.js';
import { evidenceDisagrees, evidenceSummary } from '../../utils/evidence.js';
import { formatBand, formatProbability } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { badgeText, STATE_NAME } from '../../utils/states.js';

/**
 * Last path segment of an image URL (or the start of a data: URL), for captions.
 * @param {string} url
 * @returns {string}
 */
export function shortName(url) {
  if (url.startsWith('data:')) return `${url.slice(0, 24)}…`;
  try {
    const u = new URL(url);
    return decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() || u.hostname);
  } catch {
    return url;
  }
}

/**
 * The state chip: "AI > 99%", "Human 88%", "Unsure 52% AI", "Error".
 * @param {object} r result
 * @returns {HTMLElement}
 */
export function stateChip(r) {
  const chip = document.createElement('span');
  chip.className = 'chip';
  chip.dataset.state = r.state;
  chip.textContent = badgeText(r).text;
  return chip;
}

/**
 * A bar from P(AI) 0 to 1 with the uncertain band shaded, the threshold ticked and the image's
 * probability marked.
 * @param {object} r result
 * @param {{threshold?: number, uncertain_band?: number[]}|null} model
 * @returns {HTMLElement}
 */
export function probabilityBar(r, model) {
  const bar = document.createElement('div');
  bar.className = 'pbar';
  bar.setAttribute('role', 'img');
  const band = model?.uncertain_band;
  const parts = [];
  if (Array.isArray(band) && band.length === 2) {
    const b = document.createElement('span');
    b.className = 'band';
    b.style.left = `${band[0] * 100}%`;
    b.style.width = `${(band[1] - band[0]) * 100}%`;
    bar.append(b);
    parts.push(`uncertain band ${formatBand(band)}`);
  }
  if (typeof model?.threshold === 'number') {
    const t = document.createElement('span');
    t.className = 'threshold';
    t.style.left = `${model.threshold * 100}%`;
    bar.append(t);
  }
  if (typeof r.probabilityAi === 'number') {
    const m = document.createElement('span');
    m.className = 'marker';
    m.dataset.state = r.state;
    m.style.left = `${r.probabilityAi * 100}%`;
    bar.append(m);
    parts.unshift(t('revBarProbability', formatProbability(r.probabilityAi)));
  } else {
    parts.unshift(t('revBarNone'));
  }
  bar.setAttribute('aria-label', parts.join('; '));
  return bar;
}

/**
 * The grid's card for one image.
 * @param {object} r result (with `thumbnail` when one was made)
 * @param {{index: number, decision?: string, model?: object|null, showEvidence?: boolean}} opts
 * @returns {HTMLElement} a `role="gridcell"` element with id `cell-<index>`
 */
export function renderCard(r, { index, decision, model = null, showEvidence = false }) {
  const cell = document.createElement('div');
  cell.className = 'cell';
  cell.id = `cell-${index}`;
  cell.setAttribute('role', 'gridcell');
  Object.assign(cell.dataset, { index: String(index), state: r.state, url: r.url });
  if (typeof r.probabilityAi === 'number') cell.dataset.probability = String(r.probabilityAi);
  if (decision) cell.dataset.decision = decision;
  const name = shortName(r.url);
  cell.setAttribute('aria-label', `${name}: ${badgeText(r, decision).alt.replace(/^Shinsaku: /, '')}`);

  let thumb;
  if (r.thumbnail) {
    thumb = document.createElement('img');
    thumb.src = r.thumbnail;
    thumb.alt = '';
  } else {
    thumb = document.createElement('div');
    thumb.textContent = t('revNoPreview');
  }
  thumb.className = 'thumb';
  const line = document.createElement('div');
  line.className = 'line';
  line.append(stateChip(r));
  if (decision) {
    const d = document.createElement('span');
    d.className = 'decision';
    d.textContent = DECISION_TEXT[decision].mark;
    line.append(d);
  }
  const caption = document.createElement('div');
  caption.className = 'caption';
  caption.textContent = r.state === 'error' ? `${STATE_NAME.error}: ${r.message || r.error || ''}` : name;
  caption.title = r.url;
  cell.append(thumb, line, probabilityBar(r, model), caption);
  if (showEvidence) {
    const ev = document.createElement('div');
    ev.className = 'evidence';
    ev.dataset.disagrees = String(evidenceDisagrees(r));
    ev.textContent = t('revCardEvidence', evidenceSummary(r.evidence) || t('revNotChecked'));
    cell.append(ev);
  }
  return cell;
}
