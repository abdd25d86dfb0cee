/**
 * Moderators' decisions and users' corrections: one local store, never sent anywhere.
 *
 * Records are kept in extension storage (`storage.local`) per page, under
 * `decisions:<page URL without #fragment>`, as `{[imageUrl]: record}`. A record carries what a
 * correction needs (image sha256, page URL, the model's answer, the person's label, time), so the
 * review page's marks and a badge's "This label is wrong" write the same store with
 * {@link saveDecision} (the latter with {@link decisionForUserLabel}).
 */

/** The three marks a moderator can give an image. */
export const DECISIONS = Object.freeze({
  CONFIRMED_AI: 'confirmed_ai',
  CONFIRMED_HUMAN: 'confirmed_human',
  FOLLOW_UP: 'follow_up',
});

/** Name, short mark (shown on badges and cards) and keyboard shortcut of each decision. */
export const DECISION_TEXT = Object.freeze({
  [DECISIONS.CONFIRMED_AI]: Object.freeze({ name: 'confirmed AI', mark: '✓ AI', key: 'a' }),
  [DECISIONS.CONFIRMED_HUMAN]: Object.freeze({ name: 'confirmed human', mark: '✓ Human', key: 'h' }),
  [DECISIONS.FOLLOW_UP]: Object.freeze({ name: 'needs follow-up', mark: '⚑ Follow-up', key: 'f' }),
});

const PREFIX = 'decisions:';

/**
 * The page a decision belongs to: its URL without the #fragment.
 * @param {string} pageUrl
 * @returns {string}
 */
export function pageKey(pageUrl) {
  try {
    const u = new URL(pageUrl);
    u.hash = '';
    return u.href;
  } catch {
    return String(pageUrl || '');
  }
}

/**
 * Storage key of a page's decisions.
 * @param {string} pageUrl
 * @returns {string}
 */
export function storageKey(pageUrl) {
  return `${PREFIX}${pageKey(pageUrl)}`;
}

/**
 * The person's label implied by a decision ("ai", "human", or null for a follow-up).
 * @param {string} decision
 * @returns {'ai'|'human'|null}
 */
export function userLabelOf(decision) {
  if (decision === DECISIONS.CONFIRMED_AI) return 'ai';
  if (decision === DECISIONS.CONFIRMED_HUMAN) return 'human';
  return null;
}

/**
 * The decision a correction ("this is really ai/human") amounts to.
 * @param {'ai'|'human'} label
 * @returns {string|null}
 */
export function decisionForUserLabel(label) {
  if (label === 'ai') return DECISIONS.CONFIRMED_AI;
  if (label === 'human') return DECISIONS.CONFIRMED_HUMAN;
  return null;
}

/**
 * A stored record for a decision on one checked image.
 * @param {{url: string, state: string, probabilityAi?: number, modelVersion?: string, imageSha256?: string}} result
 * @param {string} pageUrl
 * @param {string} decision one of DECISIONS
 * @param {Date} [now]
 * @returns {object}
 */
export function decisionRecord(result, pageUrl, decision, now = new Date()) {
  if (!Object.values(DECISIONS).includes(decision)) throw new Error(`unknown decision ${decision}`);
  return {
    decision,
    at: now.toISOString(),
    pageUrl: pageKey(pageUrl),
    imageUrl: result.url,
    imageSha256: result.imageSha256 || null,
    modelLabel: result.state,
    probabilityAi: typeof result.probabilityAi === 'number' ? result.probabilityAi : null,
    modelVersion: result.modelVersion || null,
    userLabel: userLabelOf(decision),
  };
}

/**
 * A page's decisions.
 * @param {{get: (keys: string) => Promise<object>}} storage e.g. `ext.storage.local`
 * @param {string} pageUrl
 * @returns {Promise<Record<string, object>>} imageUrl -> record
 */
export async function loadDecisions(storage, pageUrl) {
  const key = storageKey(pageUrl);
  const got = await storage.get(key);
  const v = got && got[key];
  return v && typeof v === 'object' ? v : {};
}

let writes = Promise.resolve();

/**
 * Set (or, with `decision` null, clear) the decision on one image of a page. Writes from one
 * context are serialised, so quick successive marks are all kept.
 * @param {{get: Function, set: Function}} storage
 * @param {string} pageUrl
 * @param {{url: string}} result the image's result (see {@link decisionRecord})
 * @param {string|null} decision
 * @param {Date} [now]
 * @returns {Promise<Record<string, object>>} the page's decisions after the change
 */
export function saveDecision(storage, pageUrl, result, decision, now = new Date()) {
  const run = writes.then(async () => {
    const all = await loadDecisions(storage, pageUrl);
    if (decision) all[result.url] = decisionRecord(result, pageUrl, decision, now);
    else delete all[result.url];
    await storage.set({ [storageKey(pageUrl)]: all });
    return all;
  });
  writes = run.catch(() => {});
  return run;
}
