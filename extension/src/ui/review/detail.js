/**
 * The review page's detail dialog for one image: larger preview, verdict with the uncertain
 * band, hashes, model, evidence (when results carry it), the moderator's decision and "Locate".
 */
import { DECISION_TEXT } from '../../utils/decisions.js';
import { evidenceSummary } from '../../utils/evidence.js';
import { formatBand, formatProbability } from '../../utils/format.js';
import { t } from '../../utils/i18n.js';
import { badgeText } from '../../utils/states.js';
import { probabilityBar, shortName, stateChip } from './card.js';

export class DetailDialog {
  /**
   * @param {HTMLDialogElement} dialog
   * @param {{onDecide: (decision: string|null) => void, onLocate: () => void, onStep: (delta: number) => void,
   *   onKey: (e: KeyboardEvent) => boolean}} actions
   */
  constructor(dialog, actions) {
    this.dialog = dialog;
    this.$ = (sel) => dialog.querySelector(sel);
    for (const [decision, text] of Object.entries(DECISION_TEXT)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.decision = decision;
      b.textContent = text.mark;
      b.setAttribute('aria-label', t('revMarkAs', text.name, text.key.toUpperCase()));
      b.setAttribute('aria-keyshortcuts', text.key.toUpperCase());
      b.addEventListener('click', () => actions.onDecide(decision));
      this.$('.decisions').append(b);
    }
    this.$('[data-action="clear"]').addEventListener('click', () => actions.onDecide(null));
    this.$('[data-action="locate"]').addEventListener('click', () => actions.onLocate());
    this.$('[data-action="prev"]').addEventListener('click', () => actions.onStep(-1));
    this.$('[data-action="next"]').addEventListener('click', () => actions.onStep(1));
    this.$('[data-action="close"]').addEventListener('click', () => dialog.close());
    dialog.addEventListener('keydown', (e) => {
      if (e.target instanceof HTMLButtonElement && (e.key === 'Enter' || e.key === ' ')) return;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
        e.preventDefault();
        actions.onStep(e.key === 'ArrowLeft' ? -1 : 1);
      } else if (actions.onKey(e)) {
        e.preventDefault();
      }
    });
  }

  /** @returns {boolean} */
  get isOpen() {
    return this.dialog.open;
  }

  /**
   * Show one image.
   * @param {object} r result
   * @param {{decision?: object, model?: object|null, pageUrl: string, position: string}} ctx
   *   decision: the stored record; position: e.g. "3 of 120"
   */
  show(r, { decision, model, pageUrl, position }) {
    const $ = this.$;
    this.dialog.dataset.url = r.url;
    this.dialog.dataset.state = r.state;
    $('#detail-title').replaceChildren(stateChip(r), ` ${shortName(r.url)}`);
    $('.position').textContent = position;
    const img = $('.preview');
    img.hidden = !r.thumbnail;
    img.src = r.thumbnail || '';
    $('.verdict').textContent = badgeText(r, decision?.decision).alt.replace(/^Shinsaku: /, '');
    $('.bar-slot').replaceChildren(probabilityBar(r, model));
    const rows = [
      ['Probability AI', t('revFieldProbability'), typeof r.probabilityAi === 'number' ? `${formatProbability(r.probabilityAi)} (${r.probabilityAi.toFixed(4)})` : '—'],
      ['Uncertain band', t('revFieldBand'), model?.uncertain_band ? t('revBandValue', formatBand(model.uncertain_band), formatProbability(model.threshold)) : '—'],
      ['Image URL', t('revFieldUrl'), r.url],
      ['Image sha256', t('revFieldSha'), r.imageSha256 || '—'],
      ['Page', t('revFieldPage'), pageUrl],
      ['Model', t('revFieldModel'), `${model?.name || ''} ${r.modelVersion || model?.version || ''}`.trim() || '—'],
      ['Model sha256', t('revFieldModelSha'), r.modelSha256 || model?.sha256 || '—'],
    ];
    if (r.state === 'error') rows.push(['Error', t('stateError'), `${r.error || ''}: ${r.message || ''}`]);
    if (Array.isArray(r.evidence)) rows.push(['Evidence', t('revFieldEvidence'), evidenceSummary(r.evidence)]);
    const dl = $('.facts');
    // Each row: [field id (English, stable for tests and scripts), label in the UI language, value].
    dl.replaceChildren(...rows.flatMap(([k, label, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dd.dataset.field = k;
      return [dt, dd];
    }));
    for (const b of this.dialog.querySelectorAll('.decisions button[data-decision]')) {
      b.setAttribute('aria-pressed', String(b.dataset.decision === decision?.decision));
    }
    $('.decided').textContent = decision
      ? t('revMarked', DECISION_TEXT[decision.decision].name, new Date(decision.at).toLocaleString())
      : t('revNoDecision');
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** Text of a transient note (e.g. the result of "Locate"). @param {string} text */
  note(text) {
    this.$('.note').textContent = text;
  }
}
