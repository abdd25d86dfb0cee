/**
 * The content script's use of the adapters (src/content/site.js) with a fake page: renditions tried
 * largest first, the shown image last, and the page's declared evidence on verdicts only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSite } from '../src/content/site.js';
import { evidenceDisagrees } from '../src/utils/evidence.js';

const WORK = 'https://i.pximg.net/c/250x250_80_a2/img-master/img/2026/01/02/03/04/05/123456_p0_square1200.jpg';
const MASTER = 'https://i.pximg.net/img-master/img/2026/01/02/03/04/05/123456_p0_master1200.jpg';

/** A pixiv artwork page whose preload data says `aiType`. */
function pixivPage(aiType) {
  const loc = { hostname: 'www.pixiv.net', href: 'https://www.pixiv.net/artworks/123456' };
  const meta = { tagName: 'META', getAttribute: () => JSON.stringify({ illust: { 123456: { aiType } } }) };
  const doc = { querySelector: (sel) => (sel === 'meta#meta-preload-data' ? meta : null) };
  const img = { closest: () => null, getAttribute: () => '' };
  return { site: createSite(loc, doc), img };
}

/** A fake `request`: answers per URL from `answers` and records the order asked. */
function requester(answers) {
  const asked = [];
  const request = async (url) => {
    asked.push(url);
    return answers[url] || { state: 'error', error: 'image_unreadable', message: 'HTTP 404' };
  };
  return { asked, request };
}

test('the master rendition is judged, the badge keeps the shown URL, declared AI is evidence', async () => {
  const { site, img } = pixivPage(2);
  const { asked, request } = requester({ [MASTER]: { state: 'human', probabilityAi: 0.2 } });
  const result = await site.classify(img, WORK, request);
  assert.deepEqual(asked, [MASTER]);
  assert.equal(result.renditionUrl, MASTER);
  assert.deepEqual(result.evidence.map((f) => [f.kind, f.says]), [['site', 'ai']]);
  assert.equal(evidenceDisagrees(result), true, 'the artist says AI, the model says human: shown');
});

test('a refused rendition falls back to the shown image; errors get no declared evidence', async () => {
  const { site, img } = pixivPage(2);
  const ok = requester({ [WORK]: { state: 'ai', probabilityAi: 0.9 } });
  const result = await site.classify(img, WORK, ok.request);
  assert.deepEqual(ok.asked, [MASTER, WORK]);
  assert.equal(result.renditionUrl, undefined);
  assert.equal(result.evidence.length, 1);
  const down = requester({});
  const failed = await site.classify(img, WORK, down.request);
  assert.equal(failed.state, 'error');
  assert.equal(failed.evidence, undefined, 'no verdict: nothing to set evidence beside');
});

test('no adapter, or a work not declared AI: the shown URL only, nothing added', async () => {
  const { site, img } = pixivPage(1);
  const r = requester({ [MASTER]: { state: 'human', probabilityAi: 0.1 } });
  assert.equal((await site.classify(img, WORK, r.request)).evidence, undefined);
  const plain = createSite({ hostname: '127.0.0.1', href: 'http://127.0.0.1/' }, { querySelector: () => null });
  const p = requester({ 'http://127.0.0.1/a.png': { state: 'ai', probabilityAi: 0.9 } });
  await plain.classify(img, 'http://127.0.0.1/a.png', p.request);
  assert.deepEqual(p.asked, ['http://127.0.0.1/a.png']);
  assert.equal(plain.adapter, null);
});
