import assert from 'node:assert/strict';
import { test } from 'node:test';
import { base64ToBytes, bytesToBase64, uploadContentType } from '../src/utils/bytes.js';
import { csvField, toCsv } from '../src/utils/csv.js';
import { DEFAULT_SETTINGS, isLocalBackendUrl, normalizeSettings, siteFromInput, sitePattern, siteSchemePatterns } from '../src/utils/settings.js';

test('only loopback backends are accepted', () => {
  assert.equal(isLocalBackendUrl('http://127.0.0.1:8765'), true);
  assert.equal(isLocalBackendUrl('http://localhost:9000/'), true);
  assert.equal(isLocalBackendUrl('https://example.com'), false);
  assert.equal(isLocalBackendUrl('http://127.0.0.1.evil.com'), false);
  assert.equal(isLocalBackendUrl('ftp://127.0.0.1'), false);
  assert.equal(isLocalBackendUrl('not a url'), false);
});

test('normalizeSettings fills defaults and drops bad values', () => {
  assert.deepEqual(normalizeSettings({}), { ...DEFAULT_SETTINGS });
  const s = normalizeSettings({ backendUrl: 'https://cloud.example', minSize: -3, badgePosition: 'middle', showHuman: false, sites: ['https://Art.Example/x', 'bad url', 'art.example'] });
  assert.equal(s.backendUrl, DEFAULT_SETTINGS.backendUrl, 'no cloud backend');
  assert.equal(s.minSize, 96);
  assert.equal(s.badgePosition, 'top-left');
  assert.equal(s.showHuman, false);
  assert.deepEqual(s.sites, ['art.example']);
  assert.equal(normalizeSettings({ backendUrl: 'http://localhost:9/' }).backendUrl, 'http://localhost:9');
});

test('site helpers', () => {
  assert.equal(siteFromInput('https://www.pixiv.net/en/artworks/1'), 'www.pixiv.net');
  assert.equal(siteFromInput('danbooru.donmai.us'), 'danbooru.donmai.us');
  assert.equal(siteFromInput('chrome://extensions'), null);
  assert.equal(sitePattern('a.b'), '*://a.b/*');
  assert.deepEqual(siteSchemePatterns('a.b'), ['http://a.b/*', 'https://a.b/*']);
});

test('CSV escapes quotes, commas, newlines and formulas', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField(undefined), '');
  for (const start of ['=', '+', '-', '@']) assert.equal(csvField(`${start}1+2`), `'${start}1+2`, start);
  assert.equal(csvField('a=b'), 'a=b', 'only a leading sign is dangerous');
  const csv = toCsv(['url', 'n'], [{ url: 'https://a/1.png', n: 1 }, { url: '@x', n: null }]);
  assert.equal(csv, "url,n\r\nhttps://a/1.png,1\r\n'@x,\r\n");
});

test('bytes round-trip through base64; upload content types', () => {
  const u8 = new Uint8Array(70000).map((_, i) => (i * 7) % 256);
  assert.deepEqual(base64ToBytes(bytesToBase64(u8)), u8);
  assert.equal(uploadContentType('image/webp'), 'image/webp');
  assert.equal(uploadContentType('IMAGE/PNG; charset=x'), 'image/png');
  assert.equal(uploadContentType('text/html'), 'application/octet-stream');
  assert.equal(uploadContentType(undefined), 'application/octet-stream');
});
