/**
 * The content script's view of the moderator's decisions for this page (read from extension
 * storage, kept current as the review page writes them), shown on the badges.
 */
import { ext } from '../utils/api.js';
import { loadDecisions, storageKey } from '../utils/decisions.js';

/**
 * @param {() => void} onChange called whenever this page's decisions change
 * @returns {{decisionFor: (imageUrl: string) => string|undefined, reload: () => Promise<void>}}
 */
export function watchDecisions(onChange) {
  let key = storageKey(location.href);
  let current = {};
  async function reload() {
    key = storageKey(location.href);
    current = await loadDecisions(ext.storage.local, location.href);
    onChange();
  }
  ext.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local' || !changes[key]) return;
    current = changes[key].newValue || {};
    onChange();
  });
  reload().catch(() => {});
  return { decisionFor: (imageUrl) => current[imageUrl]?.decision, reload };
}
