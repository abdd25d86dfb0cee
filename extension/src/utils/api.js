/**
 * The WebExtension API object: `browser` on Firefox (promises), `chrome` on Chromium
 * (MV3 APIs return promises too).
 */
export const ext = globalThis.browser ?? globalThis.chrome;
