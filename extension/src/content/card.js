/**
 * The detail card a badge opens (click, or Enter/Space on the focused badge): the verdict with its
 * probability and what the uncertain band means, the file's provenance evidence in plain words, a
 * "Show what the model looked at" toggle drawing the backend's heat map over the image, and "This
 * label is wrong", which records a correction in the local decisions store (decisions.js; never sent
 * anywhere). It lives in the overlay's shadow root, so page styles cannot reach it; Escape or the
 * close button closes it and gives focus back to the badge. The card sits beside the image (below
 * it when there is no room), so the heat map stays in view.
 */
import { evidenceDisagrees, evidenceLines } from '../utils/evidence.js';
import { formatProbability } from '../utils/format.js';
import { t } from '../utils/i18n.js';
import { STATE, STATE_NAME, badgeText } from '../utils/states.js';
import { contentBox, cropRect } from '../utils/heatmap.js';

export const CARD_CSS = `
.card {
  position: absolute; box-sizing: border-box; width: 320px; max-width: calc(100vw - 16px); padding: 12px 14px;
  background: #fff; color: #1a1a1a; border: 1px solid #888; border-radius: 8px; pointer-events: auto;
  box-shadow: 0 4px 18px rgba(0,0,0,.35); font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  text-align: left; letter-spacing: 0;
}
.card h2 { margin: 0 24px 4px 0; font-size: 15px; font-weight: 700; }
.card h3 { margin: 10px 0 2px; font-size: 13px; font-weight: 700; }
.card p { margin: 4px 0; }
.card ul { margin: 2px 0 6px; padding-left: 18px; }
.card li { overflow-wrap: anywhere; }
.card .note { color: #444; font-size: 12px; }
.card .disagree { color: #8a1c1c; font-weight: 600; }
.card button {
  font: inherit; margin: 4px 6px 0 0; padding: 4px 9px; border-radius: 5px; border: 1px solid #555;
  background: #f3f3f3; color: #1a1a1a; cursor: pointer;
}
.card button[aria-pressed="true"] { background: #1a1a1a; color: #fff; }
.card button:focus-visible, .badge:focus-visible { outline: 3px solid #1565c0; outline-offset: 2px; }
.card .close { position: absolute; top: 6px; right: 6px; margin: 0; padding: 0 6px; border: 0; background: none; font-size: 18px; }
.heat { position: absolute; overflow: hidden; pointer-events: none; }
.heat img { position: absolute; image-rendering: auto; outline: 1px dashed rgba(255,255,255,.9); }
`;

/** Gap between the image and its card, and the card and the viewport's edge, px. */
const GAP_PX = 8;

let modelInfo = null;

/**
 * @param {import('./overlay.js').Overlay} overlay
 * @param {{explain: (url: string) => Promise<object>, status: () => Promise<object>,
 *   correct: (url: string, result: object, userLabel: 'ai'|'human') => Promise<void>}} deps
 *   explain: the `/v1/explain` answer (label.js `explanationFromResponse`); status: the background's
 *   MSG.STATUS answer (for the threshold and uncertain band); correct: records a correction
 */
export function createDetailCard(overlay, deps) {
  /** @type {{img: Element, badge: HTMLElement, url: string, result: object, el: HTMLElement, heat?: HTMLElement, explanation?: object}|null} */
  let open = null;

  function el(tag, props = {}, text = '') {
    const e = document.createElement(tag);
    Object.assign(e, props);
    if (text) e.textContent = text;
    return e;
  }

  function bandText(model) {
    const band = model && Array.isArray(model.uncertain_band) ? model.uncertain_band : null;
    if (!band) return t('cardBandUnknown');
    return t('cardBand', formatProbability(band[0]), formatProbability(band[1]));
  }

  function verdictTitle(result) {
    if (result.state === STATE.AI) return t('cardLikelyAi');
    if (result.state === STATE.HUMAN) return t('cardLikelyHuman');
    if (result.state === STATE.UNCERTAIN) return t('stateUncertain');
    return STATE_NAME[result.state] || t('cardNotChecked');
  }

  function render(result) {
    const card = el('div', { className: 'card' });
    card.setAttribute('role', 'dialog');
    card.setAttribute('aria-modal', 'false');
    card.setAttribute('aria-labelledby', 'shinsaku-card-title');
    card.dataset.url = open.url;
    card.dataset.state = result.state;
    const title = el('h2', { id: 'shinsaku-card-title', tabIndex: -1 }, verdictTitle(result));
    const close = el('button', { type: 'button', className: 'close' }, '×');
    close.setAttribute('aria-label', t('cardClose'));
    close.addEventListener('click', () => closeCard());
    card.append(close, title);
    if (typeof result.probabilityAi === 'number') {
      card.append(el('p', { className: 'prob' }, t('cardProbability', formatProbability(result.probabilityAi))));
      const band = el('p', { className: 'note band' }, bandText(modelInfo));
      card.append(band);
      if (!modelInfo) deps.status().then((s) => { modelInfo = s && s.model; band.textContent = bandText(modelInfo); }).catch(() => {});
    } else {
      card.append(el('p', {}, badgeText(result).alt));
    }
    card.append(el('h3', {}, t('cardProvenance')));
    const list = el('ul', { className: 'evidence' });
    for (const line of evidenceLines(result.evidence)) list.append(el('li', {}, line));
    card.append(list);
    if (!Array.isArray(result.evidence) || !result.evidence.length) {
      card.append(el('p', { className: 'note' }, t('cardNoMetadataNote')));
    }
    if (evidenceDisagrees(result)) {
      card.append(el('p', { className: 'disagree' }, t('cardDisagree')));
    }
    if (result.state !== STATE.ERROR && result.state !== STATE.CHECKING) {
      const toggle = el('button', { type: 'button', className: 'heat-toggle' }, t('cardShowHeat'));
      toggle.setAttribute('aria-pressed', 'false');
      const heatStatus = el('p', { className: 'note heat-status' });
      heatStatus.setAttribute('role', 'status');
      toggle.addEventListener('click', () => toggleHeat(toggle, heatStatus));
      card.append(toggle, heatStatus);
      card.append(...correctionControls(result));
    }
    return card;
  }

  function correctionControls(result) {
    const wrong = el('button', { type: 'button', className: 'wrong' }, t('cardWrong'));
    const choices = el('div', { className: 'choices', hidden: true });
    const saved = el('p', { className: 'note saved' });
    saved.setAttribute('role', 'status');
    const options = [['human', t('cardIsHuman')], ['ai', t('cardIsAi')]]
      .filter(([label]) => label !== result.state);
    for (const [label, text] of options) {
      const b = el('button', { type: 'button', className: 'choice' }, text);
      b.dataset.label = label;
      b.addEventListener('click', async () => {
        try {
          await deps.correct(open.url, open.result, label);
          saved.textContent = (label === 'ai' ? t('cardSavedAi') : t('cardSavedHuman'));
          saved.dataset.saved = label;
        } catch (e) {
          saved.textContent = t('cardSaveFailed', e.message || e);
        }
      });
      choices.append(b);
    }
    wrong.setAttribute('aria-expanded', 'false');
    wrong.addEventListener('click', () => {
      choices.hidden = !choices.hidden;
      wrong.setAttribute('aria-expanded', String(!choices.hidden));
      if (!choices.hidden) choices.querySelector('button')?.focus();
    });
    return [wrong, choices, saved];
  }

  async function toggleHeat(toggle, status) {
    const current = open;
    if (current.heat) {
      current.heat.remove();
      current.heat = undefined;
      toggle.setAttribute('aria-pressed', 'false');
      status.textContent = '';
      return;
    }
    toggle.setAttribute('aria-pressed', 'true');
    if (!current.explanation) {
      status.textContent = t('cardHeatWorking');
      toggle.disabled = true;
      current.explanation = await deps.explain(current.url).catch((e) => ({ state: STATE.ERROR, message: String(e.message || e) }));
      toggle.disabled = false;
      if (open !== current) return;
    }
    const ex = current.explanation;
    if (ex.state === STATE.ERROR) {
      status.textContent = t('cardHeatFailed', ex.message || ex.error);
      toggle.setAttribute('aria-pressed', 'false');
      current.explanation = undefined;
      return;
    }
    const heat = el('div', { className: 'heat' });
    heat.dataset.url = current.url;
    heat.dataset.grid = String(ex.heat.length);
    heat.append(el('img', { src: `data:image/png;base64,${ex.overlayPng}`, alt: '' }));
    overlay.root.insertBefore(heat, overlay.root.querySelector('.badge, .card')); // under the badges and card
    current.heat = heat;
    status.textContent = t('cardHeatLegend');
    place();
  }

  /** Put the card under its image and the heat map over the model's crop. */
  function place() {
    if (!open) return;
    if (!open.img.isConnected) {
      closeCard(false);
      return;
    }
    const r = open.img.getBoundingClientRect();
    const h = overlay.host.getBoundingClientRect();
    // Beside the image when there is room (the heat map stays visible), else below it.
    const width = open.el.offsetWidth;
    const beside = r.right + GAP_PX + width <= innerWidth - GAP_PX;
    const left = beside ? r.right + GAP_PX : Math.max(GAP_PX, Math.min(r.left, innerWidth - width - GAP_PX));
    const top = beside ? r.top : r.bottom + GAP_PX;
    open.el.style.left = `${Math.round(left - h.left)}px`;
    open.el.style.top = `${Math.round(top - h.top)}px`;
    if (open.heat && open.explanation?.crop) {
      const style = getComputedStyle(open.img);
      const crop = open.explanation.crop;
      const box = contentBox({ width: r.width, height: r.height }, { width: crop.imageWidth, height: crop.imageHeight }, style.objectFit);
      const c = cropRect(box, crop);
      Object.assign(open.heat.style, {
        left: `${Math.round(r.left - h.left)}px`, top: `${Math.round(r.top - h.top)}px`,
        width: `${Math.round(r.width)}px`, height: `${Math.round(r.height)}px`,
      });
      Object.assign(open.heat.firstChild.style, {
        left: `${c.left}px`, top: `${c.top}px`, width: `${c.width}px`, height: `${c.height}px`,
      });
    }
  }

  function onKey(e) {
    if (e.key === 'Escape' && open) {
      e.stopPropagation();
      closeCard();
    }
  }

  function closeCard(returnFocus = true) {
    if (!open) return;
    const { badge, el: card, heat } = open;
    card.remove();
    heat?.remove();
    badge.setAttribute('aria-expanded', 'false');
    open = null;
    if (returnFocus && badge.isConnected) badge.focus();
  }

  /**
   * Open the card for an image (closing any other); a second activation of the same badge closes it.
   * @param {Element} img @param {HTMLElement} badge @param {string} url @param {object} result
   */
  function openCard(img, badge, url, result) {
    if (open && open.badge === badge) {
      closeCard();
      return;
    }
    closeCard(false);
    open = { img, badge, url, result, el: null };
    open.el = render(result);
    open.el.addEventListener('keydown', onKey);
    overlay.root.append(open.el);
    badge.setAttribute('aria-expanded', 'true');
    place();
    open.el.querySelector('h2').focus();
  }

  overlay.ensureHost();
  const style = document.createElement('style');
  style.textContent = CARD_CSS;
  overlay.root.appendChild(style);
  // Escape on the badge closes its card too.
  overlay.root.addEventListener('keydown', (e) => {
    if (e.target?.classList?.contains('badge')) onKey(e);
  });
  overlay.followers.add(place);
  return { open: openCard, close: closeCard, place, get current() { return open; } };
}
