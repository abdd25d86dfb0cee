/**
 * The extension's UI language: every text a person reads comes from `_locales/<lang>/messages.json`
 * (WebExtension convention) through `i18n.getMessage`, so it follows the browser's language
 * (English and Japanese; English otherwise). The manifest uses `__MSG_<key>__`.
 *
 * Where no WebExtension API exists (unit tests under node), the English messages are used, with
 * the same placeholder rules, so tests read the texts an English browser shows.
 */
import en from '../_locales/en/messages.json' with { type: 'json' };

/**
 * A message in English, with `$NAME$` placeholders filled from `substitutions` as the browser does
 * (a placeholder's `content` `$1` is the first substitution, `$2` the second...).
 * @param {string} key
 * @param {string[]} substitutions
 * @returns {string} '' for an unknown key (as `getMessage`)
 */
export function englishMessage(key, substitutions = []) {
  const entry = en[key];
  if (!entry) return '';
  const placeholders = entry.placeholders || {};
  return entry.message.replace(/\$([A-Za-z0-9_@]+)\$/g, (whole, name) => {
    const p = placeholders[name.toLowerCase()];
    if (!p) return whole;
    return p.content.replace(/\$(\d)/g, (_, n) => String(substitutions[Number(n) - 1] ?? ''));
  }).replace(/\$\$/g, '$');
}

/**
 * The UI text `key` in the browser's language.
 * @param {string} key a key of `_locales/en/messages.json`
 * @param {...(string|number)} substitutions values for the message's placeholders, in order
 * @returns {string} the text; the key itself when it is unknown (visible, and caught by the tests)
 */
export function t(key, ...substitutions) {
  const subs = substitutions.map(String);
  const api = globalThis.browser?.i18n ?? globalThis.chrome?.i18n;
  let text = '';
  try {
    text = api ? api.getMessage(key, subs) : '';
  } catch {
    text = '';
  }
  return text || englishMessage(key, subs) || key;
}

/** Attributes translated by {@link localizePage}: `data-i18n-<attr>="key"` sets `<attr>`. */
export const I18N_ATTRIBUTES = Object.freeze(['title', 'placeholder', 'aria-label', 'alt']);

/**
 * Translate a page: `data-i18n="<key>"` sets an element's text, `data-i18n-title` (and the other
 * {@link I18N_ATTRIBUTES}) set that attribute; `<html lang>` becomes the UI language.
 * @param {Document} doc
 */
export function localizePage(doc) {
  for (const el of doc.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of I18N_ATTRIBUTES) {
    for (const el of doc.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
  }
  const lang = t('@@ui_locale');
  if (lang && lang !== '@@ui_locale') doc.documentElement.lang = lang.replace('_', '-');
}
