import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SWITCH, switchSiteOff, switchSiteOn } from '../src/ui/popup/site-switch.js';
import { sitePattern, siteProtocolFromInput } from '../src/utils/settings.js';

/** Fake browser: a permission prompt the test answers, a `sites` store, and what the switch showed. */
function fakeIo({ sites = [] } = {}) {
  const io = { shown: [], requests: [], stored: sites, calls: [] };
  io.prompt = new Promise((resolve, reject) => Object.assign(io, { answer: resolve, fail: reject }));
  io.request = (p) => {
    io.calls.push('request');
    io.requests.push(p);
    return io.prompt;
  };
  io.getSites = async () => {
    io.calls.push('getSites');
    return io.stored;
  };
  io.setSites = async (s) => {
    io.stored = s;
  };
  io.show = (state) => io.shown.push(state);
  return io;
}

test('the switch is not "on" while the permission prompt is open, and on only once granted', async () => {
  const io = fakeIo({ sites: ['a.example'] });
  const done = switchSiteOn({ host: 'www.pixiv.net', protocol: 'https:' }, io);
  assert.deepEqual(io.calls, ['request'], 'the request is the first call (user gesture)');
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(io.shown, [SWITCH.PENDING]);
  assert.deepEqual(io.stored, ['a.example'], 'nothing stored before the answer');
  io.answer(true);
  assert.equal(await done, true);
  assert.deepEqual(io.shown, [SWITCH.PENDING, SWITCH.ON]);
  assert.deepEqual(io.stored, ['a.example', 'www.pixiv.net']);
  assert.deepEqual(io.requests, [{ origins: ['https://www.pixiv.net/*', 'https://i.pximg.net/*'] }],
    'only the scheme the site uses, and its image host in the same prompt');
});

test('a refused or failed prompt leaves the switch off and nothing stored', async () => {
  for (const answer of [(io) => io.answer(false), (io) => io.fail(new Error('not in a user gesture'))]) {
    const io = fakeIo();
    const done = switchSiteOn({ host: 'x.example', protocol: 'https:' }, io);
    answer(io);
    assert.equal(await done, false);
    assert.deepEqual(io.shown, [SWITCH.PENDING, SWITCH.DENIED]);
    assert.deepEqual(io.stored, []);
  }
});

test('on loopback only http access is asked for (the extension holds it: no https prompt)', async () => {
  const io = fakeIo();
  const done = switchSiteOn({ host: '127.0.0.1', protocol: 'http:' }, io);
  io.answer(true);
  await done;
  assert.deepEqual(io.requests, [{ origins: ['http://127.0.0.1/*'] }]);
});

test('switching off removes the site', async () => {
  const io = fakeIo({ sites: ['a.example', 'b.example'] });
  assert.equal(await switchSiteOff({ host: 'a.example' }, io), false);
  assert.deepEqual(io.stored, ['b.example']);
  assert.deepEqual(io.shown, [SWITCH.OFF]);
});

test('site patterns and the scheme of a typed site', () => {
  assert.equal(sitePattern('a.b', 'https:'), 'https://a.b/*');
  assert.equal(sitePattern('a.b', 'http:'), 'http://a.b/*');
  assert.equal(sitePattern('a.b'), '*://a.b/*', 'scheme unknown: both');
  assert.equal(sitePattern('a.b', 'ftp:'), '*://a.b/*');
  assert.equal(siteProtocolFromInput('http://art.example/x'), 'http:');
  assert.equal(siteProtocolFromInput('HTTPS://art.example'), 'https:');
  assert.equal(siteProtocolFromInput('danbooru.donmai.us'), 'https:');
  assert.equal(siteProtocolFromInput('127.0.0.1'), 'http:');
  assert.equal(siteProtocolFromInput('localhost:8080'), 'http:');
  assert.equal(siteProtocolFromInput('chrome://extensions'), null);
});
