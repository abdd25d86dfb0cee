/**
 * The one module that defines result and badge states: their names, visible texts, text
 * alternatives (ARIA) and colours. Used by the badges (overlay), the popup, the per-tab tallies,
 * the review page and the tests, so a state looks and reads the same everywhere. Pure.
 */
import { DECISION_TEXT } from './decisions.js';
import { evidenceDisagrees, evidenceVerdict } from './evidence.js';
import { formatProbability } from './format.js';
import { t } from './i18n.js';

/** @typedef {'human'|'ai'|'uncertain'|'checking'|'error'} BadgeState */

/** Every state a result or a badge can be in. */
export const STATE = Object.freeze({
  HUMAN: 'human',
  AI: 'ai',
  UNCERTAIN: 'uncertain',
  CHECKING: 'checking',
  ERROR: 'error',
});

/** The model's verdicts (a result with a probability). */
export const LABELS = Object.freeze([STATE.HUMAN, STATE.AI, STATE.UNCERTAIN]);

/** Final states of a checked image, in the order the UI lists them (most alarming first). */
export const FINAL_STATES = Object.freeze([STATE.AI, STATE.UNCERTAIN, STATE.HUMAN, STATE.ERROR]);

/** Short names, as in filters and counts, in the UI language (`_locales`). */
export const STATE_NAME = Object.freeze({
  [STATE.AI]: t('stateAi'),
  [STATE.UNCERTAIN]: t('stateUncertain'),
  [STATE.HUMAN]: t('stateHuman'),
  [STATE.ERROR]: t('stateError'),
  [STATE.CHECKING]: t('stateChecking'),
});

/** Background and text colour of each state (contrast >= 4.5:1 with its text). */
export const STATE_COLORS = Object.freeze({
  [STATE.HUMAN]: Object.freeze({ bg: '#2e7d32', fg: '#ffffff' }),
  [STATE.AI]: Object.freeze({ bg: '#c62828', fg: '#ffffff' }),
  [STATE.UNCERTAIN]: Object.freeze({ bg: '#f9a825', fg: '#1a1a1a' }),
  [STATE.CHECKING]: Object.freeze({ bg: '#546e7a', fg: '#ffffff' }),
  [STATE.ERROR]: Object.freeze({ bg: '#4a148c', fg: '#ffffff' }),
});

/**
 * CSS giving elements that carry `data-state` the state's colours (and the error sign).
 * @param {string} selector e.g. ".badge"
 * @returns {string} CSS text
 */
export function stateCss(selector) {
  const rules = Object.entries(STATE_COLORS).map(
    ([state, c]) => `${selector}[data-state="${state}"] { background: ${c.bg}; color: ${c.fg}; }`,
  );
  rules.push(`${selector}[data-state="${STATE.ERROR}"]::before { content: "\\26A0\\FE0E  "; }`);
  return rules.join('\n');
}

/**
 * Short visible text and full text alternative of a result, with the moderator's decision
 * when there is one.
 * When the file's provenance evidence and the model disagree, both are shown (see evidence.js).
 * @param {{state: BadgeState, probabilityAi?: number, message?: string, error?: string, evidence?: object[]}} r
 * @param {string} [decision] one of DECISIONS
 * @returns {{text: string, alt: string}}
 */
export function badgeText(r, decision) {
  const p = formatProbability(r.probabilityAi);
  let out;
  switch (r.state) {
    case STATE.AI:
      out = { text: t('badgeAi', p), alt: t('badgeAiAlt', p) };
      break;
    case STATE.HUMAN:
      out = { text: t('badgeHuman', formatProbability(1 - r.probabilityAi)), alt: t('badgeHumanAlt', p) };
      break;
    case STATE.UNCERTAIN:
      out = { text: t('badgeUncertain', p), alt: t('badgeUncertainAlt', p) };
      break;
    case STATE.CHECKING:
      out = { text: t('badgeChecking'), alt: t('badgeCheckingAlt') };
      break;
    default:
      out = { text: t('badgeError'), alt: t('badgeErrorAlt', r.message || r.error || t('errorUnknown')) };
  }
  if (evidenceDisagrees(r)) {
    const ai = evidenceVerdict(r.evidence) === 'ai';
    out.text += ai ? ' · metadata: AI' : ' · metadata: human';
    out.alt += `; the file's own metadata says ${ai ? 'AI-generated' : 'camera or human-made'}, unlike the model`;
  }
  const d = DECISION_TEXT[decision];
  if (d) {
    out.text += ` · ${d.mark}`;
    out.alt += `; moderator: ${d.name}`;
  }
  return out;
}
