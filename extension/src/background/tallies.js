/**
 * Per-tab tally: every result recorded for a tab's images (in memory), the toolbar button's
 * count of AI images, and the thumbnails the review page shows.
 */
import { ext } from '../utils/api.js';
import { summarize } from '../utils/label.js';
import { STATE, STATE_COLORS } from '../utils/states.js';

/** tabId -> Map(url -> result) */
const tallies = new Map();

/**
 * Record a result for a tab (the top frame's reload clears it with {@link resetTally}).
 * @param {number|undefined} tabId
 * @param {string} url
 * @param {object} result
 */
export function recordResult(tabId, url, result) {
  if (tabId === undefined || tabId < 0) return;
  if (!tallies.has(tabId)) tallies.set(tabId, new Map());
  tallies.get(tabId).set(url, { url, ...result });
  updateActionBadge(tabId);
}

/**
 * A tab's results and counts.
 * @param {number} tabId
 * @returns {{counts: object, results: object[]}}
 */
export function tallyFor(tabId) {
  const results = [...(tallies.get(tabId)?.values() || [])];
  return { counts: summarize(results), results };
}

/**
 * The recorded result of one image of a tab.
 * @param {number} tabId
 * @param {string} url
 * @returns {object|undefined}
 */
export function recordedResult(tabId, url) {
  return tallies.get(tabId)?.get(url);
}

/** Forget a tab's results (new page, closed tab). @param {number} tabId */
export function resetTally(tabId) {
  tallies.delete(tabId);
  updateActionBadge(tabId);
}

function updateActionBadge(tabId) {
  const { counts } = tallyFor(tabId);
  const text = counts.ai ? String(counts.ai) : '';
  ext.action.setBadgeText({ tabId, text }).catch(() => {});
  ext.action.setBadgeBackgroundColor({ tabId, color: STATE_COLORS[STATE.AI].bg }).catch(() => {});
}

ext.tabs.onRemoved.addListener((tabId) => tallies.delete(tabId));
