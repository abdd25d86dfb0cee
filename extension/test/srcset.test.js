import assert from 'node:assert/strict';
import { test } from 'node:test';
import { absoluteUrl, chooseImageUrl, parseSrcset, pickCandidate, urlFetchMode } from '../src/utils/srcset.js';

const BASE = 'https://art.example/gallery/page.html';

test('parseSrcset reads width and density descriptors', () => {
  assert.deepEqual(parseSrcset('a.jpg 320w, b.jpg 640w'), [{ url: 'a.jpg', w: 320 }, { url: 'b.jpg', w: 640 }]);
  assert.deepEqual(parseSrcset('a.jpg, b.jpg 2x'), [{ url: 'a.jpg', x: 1 }, { url: 'b.jpg', x: 2 }]);
  assert.deepEqual(parseSrcset(''), []);
  assert.deepEqual(parseSrcset(undefined), []);
});

test('parseSrcset keeps commas inside URLs (data: URLs, CDN params)', () => {
  const c = parseSrcset('data:image/png;base64,AAAA 1x, https://cdn.example/i.jpg?w=10,h=20 2x');
  assert.equal(c.length, 2);
  assert.equal(c[0].url, 'data:image/png;base64,AAAA');
  assert.equal(c[1].url, 'https://cdn.example/i.jpg?w=10,h=20');
  assert.equal(c[1].x, 2);
});

test('pickCandidate chooses the smallest width covering the rendered size times DPR', () => {
  const c = parseSrcset('s.jpg 100w, m.jpg 400w, l.jpg 1200w');
  assert.equal(pickCandidate(c, 300, 1), 'm.jpg');
  assert.equal(pickCandidate(c, 300, 2), 'l.jpg');
  assert.equal(pickCandidate(c, 5000, 1), 'l.jpg');
  assert.equal(pickCandidate(c, 0, 1), 'l.jpg', 'unknown width: largest');
  assert.equal(pickCandidate(parseSrcset('a.jpg 1x, b.jpg 2x'), 100, 2), 'b.jpg');
  assert.equal(pickCandidate(parseSrcset('a.jpg 1x, b.jpg 2x'), 100, 1), 'a.jpg');
  assert.equal(pickCandidate([], 100, 1), null);
});

test('chooseImageUrl prefers currentSrc, then <picture> sources, srcset, src', () => {
  assert.equal(chooseImageUrl({ currentSrc: 'https://x/cur.webp', src: 'a.jpg', srcset: 'b.jpg 1x' }, BASE), 'https://x/cur.webp');
  assert.equal(chooseImageUrl({ currentSrc: '', src: 'a.jpg', sourceSrcsets: ['p.avif 1x'], srcset: 'b.jpg 1x' }, BASE),
    'https://art.example/gallery/p.avif');
  assert.equal(chooseImageUrl({ src: 'a.jpg', srcset: 'b.jpg 500w', renderedWidth: 200 }, BASE), 'https://art.example/gallery/b.jpg');
  assert.equal(chooseImageUrl({ src: '/img/a.jpg' }, BASE), 'https://art.example/img/a.jpg');
  assert.equal(chooseImageUrl({ src: '' }, BASE), null, 'lazy image without source yet');
});

test('absoluteUrl rejects empty and about:blank', () => {
  assert.equal(absoluteUrl('about:blank', BASE), null);
  assert.equal(absoluteUrl('  ', BASE), null);
  assert.equal(absoluteUrl('x.png', BASE), 'https://art.example/gallery/x.png');
});

test('urlFetchMode: network for http(s), page for data:/blob:', () => {
  assert.equal(urlFetchMode('https://a/b.png'), 'network');
  assert.equal(urlFetchMode('http://a/b.png'), 'network');
  assert.equal(urlFetchMode('data:image/png;base64,AA'), 'page');
  assert.equal(urlFetchMode('blob:https://a/123'), 'page');
  assert.equal(urlFetchMode('file:///etc/passwd'), 'unsupported');
});
