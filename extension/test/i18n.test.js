/**
 * UI language: both locales have the same messages, every key the code, the pages and the manifest
 * use exists, and no UI text bypasses `_locales` (HTML text needs `data-i18n`, code needs `t()`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { englishMessage, t } from '../src/utils/i18n.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SRC = join(ROOT, 'src');
const LOCALES = ['en', 'ja'];
const messages = Object.fromEntries(LOCALES.map((l) => [l, JSON.parse(readFileSync(join(SRC, '_locales', l, 'messages.json'), 'utf8'))]));

/**
 * Files whose texts are still English literals: the moderator's decision names and the evidence
 * wording, which also go into CSV/JSON exports (kept in one language there, like `shinsaku scan`). The list may only shrink: a file converted must leave it.
 */
const PENDING = new Set(['src/utils/decisions.js', 'src/utils/evidence.js']);

function files(dir, exts) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(p);
  }
  return out;
}
const rel = (p) => relative(ROOT, p);
const sources = files(SRC, ['.js', '.html']);
const manifests = files(join(ROOT, 'manifest'), ['.json']);

function usedKeys() {
  const keys = new Map();
  const add = (k, where) => keys.set(k, [...(keys.get(k) || []), where]);
  for (const f of sources) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/\bt\(\s*'([A-Za-z0-9_@]+)'/g)) add(m[1], rel(f));
    for (const m of text.matchAll(/data-i18n(?:-[a-z-]+)?="([A-Za-z0-9_@]+)"/g)) add(m[1], rel(f));
  }
  for (const f of manifests) for (const m of readFileSync(f, 'utf8').matchAll(/__MSG_([A-Za-z0-9_@]+)__/g)) add(m[1], rel(f));
  return keys;
}

test('English and Japanese have the same keys, non-empty texts and the same placeholders', () => {
  assert.deepEqual(Object.keys(messages.ja).sort(), Object.keys(messages.en).sort());
  for (const [key, en] of Object.entries(messages.en)) {
    const ja = messages.ja[key];
    for (const [lang, m] of [['en', en], ['ja', ja]]) {
      assert.ok(typeof m.message === 'string' && m.message.trim(), `${lang}.${key} is empty`);
      assert.match(key, /^[A-Za-z0-9_]+$/, 'WebExtension message names');
      const inText = [...m.message.matchAll(/\$([A-Za-z0-9_]+)\$/g)].map((x) => x[1].toLowerCase()).sort();
      assert.deepEqual(inText, Object.keys(m.placeholders || {}).sort(), `${lang}.${key}: placeholders used = declared`);
    }
    assert.deepEqual(ja.placeholders, en.placeholders, `${key}: same placeholder contents`);
  }
  assert.notEqual(messages.ja.badgeAiAlt.message, messages.en.badgeAiAlt.message, 'ja is really Japanese');
});

test('every key used by code, pages and manifests exists, and every message is used', () => {
  const used = usedKeys();
  used.delete('@@ui_locale'); // predefined by the browser
  for (const [key, where] of used) assert.ok(messages.en[key], `missing message ${key} (used in ${where.join(', ')})`);
  for (const key of Object.keys(messages.en)) assert.ok(used.has(key), `message ${key} is never used`);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest', 'base.json'), 'utf8'));
  assert.equal(manifest.default_locale, 'en');
  assert.match(manifest.name, /^__MSG_\w+__$/);
  assert.match(manifest.description, /^__MSG_\w+__$/);
});

test('no HTML text or title outside _locales (data-i18n on every element with text)', () => {
  for (const f of sources.filter((p) => p.endsWith('.html') && !PENDING.has(rel(p)))) {
    const html = readFileSync(f, 'utf8').replace(/<(script|style)[\s\S]*?<\/\1>/g, '');
    // Each run of text with letters belongs to the tag just before it, which must carry data-i18n.
    for (const m of html.matchAll(/<([a-z0-9]+)([^>]*)>([^<]*\p{L}[^<]*)/gu)) {
      assert.match(m[2], /data-i18n="/, `${rel(f)}: <${m[1]}> has untranslated text ${JSON.stringify(m[3].trim())}`);
    }
    for (const m of html.matchAll(/<[a-z0-9]+([^>]*\s(title|aria-label|alt)="[^"]*\p{L}[^"]*"[^>]*)>/gu)) {
      assert.match(m[1], new RegExp(`data-i18n-${m[2]}="`), `${rel(f)}: untranslated ${m[2]} in ${m[0]}`);
    }
  }
});

test('no UI text literals in code (textContent, titles, labels go through t())', () => {
  const literal = /\b(textContent|title|alt|placeholder)\s*=\s*(['`"])[^'`"]*\p{L}|setAttribute\(\s*'(aria-label|title|alt)',\s*(['`"])[^'`"]*\p{L}/gu;
  for (const f of sources.filter((p) => p.endsWith('.js') && !PENDING.has(rel(p)))) {
    // Template expressions and escapes are code, not text: `${name}: ${alt}` is fine, `${n} images` is not.
    const code = readFileSync(f, 'utf8').replace(/\$\{[^}]*\}/g, '').replace(/\\[a-z]/g, '');
    const hits = [...code.matchAll(literal)].map((m) => m[0]);
    assert.deepEqual(hits, [], `${rel(f)} writes UI text without t()`);
  }
  for (const p of PENDING) assert.ok(sources.some((f) => rel(f) === p), `${p} no longer exists: drop it from PENDING`);
});

test('t() fills placeholders as the browser does, and falls back to English', () => {
  assert.equal(t('badgeAi', '87%'), 'AI 87%');
  assert.equal(t('popupBackendOk', 'shinsaku-detector', '1.0.0'), 'Backend OK: model shinsaku-detector 1.0.0');
  assert.equal(englishMessage('nope'), '');
  assert.equal(t('nope'), 'nope', 'an unknown key shows itself');
  const saved = globalThis.chrome;
  globalThis.chrome = { i18n: { getMessage: (k, s) => (k === 'badgeAi' ? `AI（${s[0]}）` : '') } };
  try {
    assert.equal(t('badgeAi', '87%'), 'AI（87%）', 'the browser\'s message wins');
    assert.equal(t('badgeHuman', '60%'), 'Human 60%', 'empty from the browser: English');
  } finally {
    globalThis.chrome = saved;
  }
});
