/**
 * Site adapters against local pages reproducing each site's markup pattern
 * (test/fixtures/sites/*.html): which rendition is requested, what the page declares, and the
 * Referer and access each image host needs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ADAPTERS, adapterFor, candidateUrls, imageHostPatterns, pageEvidence, refererRules } from '../src/sites/registry.js';
import { parseSrcset } from '../src/utils/srcset.js';

/** Entities as a browser decodes them in attribute values. */
const decode = (s) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"');

/**
 * A fixture page as the content script sees it: `images[id]` = ImageInfo (absolute URLs, closest
 * link's href, srcset candidates), and `page.text(selector)` for `meta#id`.
 */
function loadPage(name, pageUrl) {
  const html = readFileSync(new URL(`fixtures/sites/${name}.html`, import.meta.url), 'utf8');
  const images = {};
  for (const m of html.matchAll(/(?:<a [^>]*href="([^"]*)"[^>]*>\s*)?<img ([^>]*)>/g)) {
    const attr = (n) => { const a = new RegExp(`\\s?${n}="([^"]*)"`).exec(m[2]); return a ? decode(a[1]) : ''; };
    images[attr('id')] = {
      url: new URL(attr('src'), pageUrl).href,
      linkHref: m[1] ? new URL(decode(m[1]), pageUrl).href : undefined,
      srcset: parseSrcset(attr('srcset').replace(/\s+/g, ' ')),
    };
  }
  const text = (selector) => {
    const id = /^meta#([\w-]+)$/.exec(selector)?.[1];
    const m = id && new RegExp(`<meta [^>]*id="${id}" content='([^']*)'`).exec(html);
    return m ? m[1] : null;
  };
  return { images, page: { url: pageUrl, text } };
}

const best = (host, img) => candidateUrls(adapterFor(host), img);

test('every adapter has the shared interface, and hosts map to one adapter', () => {
  for (const a of ADAPTERS) {
    assert.equal(typeof a.id, 'string');
    assert.equal(typeof a.matches, 'function');
    assert.equal(typeof a.renditions, 'function');
    assert.ok(Array.isArray(a.imageHosts) && a.imageHosts.length, a.id);
  }
  const cases = { 'www.pixiv.net': 'pixiv', 'x.com': 'twitter', 'mobile.twitter.com': 'twitter',
    'danbooru.donmai.us': 'danbooru', 'safebooru.donmai.us': 'danbooru', 'gelbooru.com': 'gelbooru',
    'safebooru.org': 'gelbooru', 'www.deviantart.com': 'deviantart', 'www.artstation.com': 'artstation' };
  for (const [host, id] of Object.entries(cases)) assert.equal(adapterFor(host)?.id, id, host);
  for (const host of ['example.com', 'notpixiv.net', 'pixiv.net.evil.example', 'x.com.evil.example', '127.0.0.1']) {
    assert.equal(adapterFor(host), null, host);
  }
  assert.deepEqual(candidateUrls(null, { url: 'http://127.0.0.1/a.jpg' }), ['http://127.0.0.1/a.jpg']);
});

test('pixiv: thumbnails ask for the 1200-px master; the declared AI flag is evidence', () => {
  const { images, page } = loadPage('pixiv', 'https://www.pixiv.net/artworks/123456');
  const master = 'https://i.pximg.net/img-master/img/2025/12/31/23/59/59/777_p0_master1200.jpg';
  assert.deepEqual(best('www.pixiv.net', images.thumb), [master, images.thumb.url]);
  assert.equal(best('www.pixiv.net', images.custom)[0],
    'https://i.pximg.net/img-master/img/2025/11/30/12/00/00/888_p1_master1200.jpg');
  assert.deepEqual(best('www.pixiv.net', images.main), [images.main.url], 'already the master');
  assert.deepEqual(best('www.pixiv.net', images.avatar), [images.avatar.url]);
  const pixiv = adapterFor('www.pixiv.net');
  const found = pageEvidence(pixiv, page, images.main);
  assert.deepEqual(found.map((f) => [f.kind, f.says, f.source]), [['site', 'ai', 'pixiv:aiType']]);
  assert.deepEqual(pageEvidence(pixiv, page, images.thumb), [], 'a related work\'s thumbnail: not this work');
  // Another work's page, or a work not declared AI: nothing.
  assert.deepEqual(pageEvidence(pixiv, { ...page, url: 'https://www.pixiv.net/artworks/777' }, images.main), []);
  const notAi = { ...page, text: () => '{"illust":{"123456":{"aiType":1}}}' };
  assert.deepEqual(pageEvidence(pixiv, notAi, images.main), []);
  assert.deepEqual(pageEvidence(pixiv, { ...page, text: () => '{broken' }, images.main), [], 'bad JSON: none');
});

test('pixiv: the Referer rule covers only the extension\'s own requests to i.pximg.net', () => {
  const rules = refererRules(10);
  const rule = rules.find((r) => r.condition.requestDomains.includes('i.pximg.net'));
  assert.equal(rule.id, 10);
  assert.deepEqual(rule.action.requestHeaders, [{ header: 'referer', operation: 'set', value: 'https://www.pixiv.net/' }]);
  assert.deepEqual(rule.condition.tabIds, [-1], 'no tab: the background\'s downloads, never the pages');
  assert.equal(new Set(rules.map((r) => r.id)).size, rules.length);
  assert.deepEqual(imageHostPatterns('www.pixiv.net'), ['https://i.pximg.net/*']);
  assert.deepEqual(imageHostPatterns('example.com'), []);
});

test('X/Twitter: name=orig first, then large', () => {
  const { images } = loadPage('twitter', 'https://x.com/artist/status/1');
  assert.deepEqual(best('x.com', images.small), [
    'https://pbs.twimg.com/media/GabcDEF123?format=jpg&name=orig',
    'https://pbs.twimg.com/media/GabcDEF123?format=jpg&name=large', images.small.url]);
  assert.equal(best('x.com', images.legacy)[0], 'https://pbs.twimg.com/media/GxyzUVW456?format=png&name=orig');
  assert.deepEqual(best('x.com', images.orig), [images.orig.url], 'already the original');
  assert.deepEqual(best('x.com', images.avatar), [images.avatar.url]);
});

test('Danbooru: linked original, else the sample, else the 720-px rendition', () => {
  const { images } = loadPage('danbooru', 'https://danbooru.donmai.us/posts?tags=1girl');
  const h = 'd34f0a1b2c3d4e5f60718293a4b5c6d7';
  assert.deepEqual(best('danbooru.donmai.us', images.thumb), [
    `https://cdn.donmai.us/sample/d3/4f/sample-${h}.jpg`, `https://cdn.donmai.us/720x720/d3/4f/${h}.webp`, images.thumb.url]);
  assert.equal(best('danbooru.donmai.us', images.sample)[0],
    'https://cdn.donmai.us/original/aa/bb/aabb0a1b2c3d4e5f60718293a4b5c6d7.png');
});

test('Gelbooru and Safebooru: linked original first, then the sample', () => {
  const g = loadPage('gelbooru', 'https://gelbooru.com/index.php?page=post&s=list');
  assert.deepEqual(best('gelbooru.com', g.images.gthumb), [
    'https://img3.gelbooru.com/samples/12/34/sample_1234567890abcdef1234567890abcdef.jpg', g.images.gthumb.url]);
  assert.deepEqual(best('safebooru.org', g.images.sthumb), [
    'https://safebooru.org//images/4321/fedcba0987654321fedcba0987654321.png',
    'https://safebooru.org/samples/4321/sample_fedcba0987654321fedcba0987654321.jpg', g.images.sthumb.url]);
});

test('DeviantArt: the largest signed rendition of the page\'s srcset; ArtStation: large', () => {
  const d = loadPage('deviantart', 'https://www.deviantart.com/artist/art/work-1');
  assert.match(best('www.deviantart.com', d.images.work)[0], /w_1192,h_1590.*token=T2$/);
  const a = loadPage('artstation', 'https://www.artstation.com/artwork/abc');
  assert.deepEqual(best('www.artstation.com', a.images.cover), [
    'https://cdna.artstation.com/p/assets/images/images/012/345/678/large/artist-name-work.jpg?1500000000', a.images.cover.url]);
  assert.deepEqual(best('www.artstation.com', a.images.large), [a.images.large.url], 'already large');
});
