/**
 * The one list of message types between content script, background, popup and review page.
 * Every `sendMessage`/`onMessage` uses these constants (never a string literal), and the
 * end-to-end tests read them from here.
 */

export const MSG = Object.freeze({
  /** content -> background: "I am here", answered with the settings and whether auto-labelling is on. */
  HELLO: 'hello',
  /** content -> background: classify one image `{url, bytesB64?, mime?}`, answered with a result. */
  CLASSIFY: 'classify',
  /** content -> background: explain one image's verdict `{url, bytesB64?, mime?}` (heat map, evidence, crop). */
  EXPLAIN: 'explain',
  /** UI -> background: backend health and model description. */
  STATUS: 'status',
  /** UI -> background: the results recorded for a tab `{tabId}`. */
  TALLY: 'tally',
  /** UI -> background `{tabId}`, and background -> content: check every qualifying image of the page. */
  SCAN: 'scan',
  /** background -> content: badge one image `{srcUrl}` (context menu "Check this image"). */
  CHECK_IMAGE: 'checkImage',
  /** UI -> background `{tabId, url}`, and background -> content `{url}`: scroll to an image and flash it. */
  LOCATE: 'locate',
});
