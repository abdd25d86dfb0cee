/**
 * The Referer some image hosts demand (pixiv's i.pximg.net answers 403 without a pixiv one), set
 * by declarativeNetRequest session rules on the extension's own downloads only (requests without
 * a tab: the background's fetches). Pages' own requests are never touched. Rules come from the
 * site adapters (src/sites/registry.js refererRules).
 */
import { refererRules } from '../sites/registry.js';
import { ext } from '../utils/api.js';

/** First rule id used for Referer rules (ids up to FIRST + number of adapters are ours). */
const FIRST_RULE_ID = 1000;

/**
 * Replace the session rules with the current Referer rules (idempotent; session rules are gone
 * after a browser restart, so this runs on install and on startup).
 * @returns {Promise<object[]>} the rules installed ([] where declarativeNetRequest is missing)
 */
export async function syncRefererRules() {
  const dnr = ext.declarativeNetRequest;
  if (!dnr?.updateSessionRules) return [];
  const rules = refererRules(FIRST_RULE_ID);
  const existing = (await dnr.getSessionRules()).map((r) => r.id).filter((id) => id >= FIRST_RULE_ID);
  await dnr.updateSessionRules({ removeRuleIds: existing, addRules: rules });
  return rules;
}
