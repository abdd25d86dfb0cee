import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import { BUSY_RETRY_BUDGET_MS, busyDelayMs, createClassifier, MAX_CONCURRENT } from '../src/background/classifier.js';

const BACKEND = 'http://127.0.0.1:8765';
const settings = async () => ({ backendUrl: BACKEND, token: 'tok' });
const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const PNG_BYTES = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
const PNG_SHA256 = createHash('sha256').update(PNG_BYTES).digest('hex');
const png = () => new Response(PNG_BYTES, { status: 200, headers: { 'Content-Type': 'image/png' } });

function fakeFetch(handler) {
  const calls = [];
  let active = 0;
  let peak = 0;
  const fn = async (url, init = {}) => {
    calls.push({ url: String(url), init });
    active++;
    peak = Math.max(peak, active);
    try {
      await new Promise((r) => setTimeout(r, 3));
      return await handler(String(url), init);
    } finally {
      active--;
    }
  };
  return { fn, calls, get peak() { return peak; } };
}

test('fetches the image without credentials and posts its bytes to the local backend', async () => {
  const f = fakeFetch((url) => (url.startsWith(BACKEND) ? json(200, { label: 'ai', probability_ai: 0.93, model_version: 'm1' }) : png()));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  const r = await c.classify('https://art.example/a.png');
  assert.deepEqual(r, { state: 'ai', label: 'ai', probabilityAi: 0.93, modelVersion: 'm1', imageSha256: PNG_SHA256 });
  assert.equal(f.calls[0].url, 'https://art.example/a.png');
  assert.equal(f.calls[0].init.credentials, 'omit');
  const post = f.calls[1];
  assert.equal(post.url, `${BACKEND}/v1/classify`);
  assert.equal(post.init.method, 'POST');
  assert.equal(post.init.headers['Content-Type'], 'image/png');
  assert.equal(post.init.headers['X-Shinsaku-Token'], 'tok');
  assert.equal(post.init.credentials, 'omit');
  assert.equal(f.calls.length, 2);
});

test('results are cached by URL and concurrent requests for one URL are shared', async () => {
  const f = fakeFetch((url) => (url.startsWith(BACKEND) ? json(200, { label: 'human', probability_ai: 0.1 }) : png()));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  const [a, b] = await Promise.all([c.classify('https://x/1.png'), c.classify('https://x/1.png')]);
  assert.equal(a.state, 'human');
  assert.equal(b.state, 'human');
  const again = await c.classify('https://x/1.png');
  assert.equal(again.cached, true);
  assert.equal(f.calls.length, 2, 'one download, one POST');
});

test(`at most ${MAX_CONCURRENT} requests at a time`, async () => {
  const f = fakeFetch((url) => (url.startsWith(BACKEND) ? json(200, { label: 'ai', probability_ai: 0.8 }) : png()));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  await Promise.all(Array.from({ length: 12 }, (_, i) => c.classify(`https://x/${i}.png`)));
  assert.ok(f.peak <= MAX_CONCURRENT, `peak ${f.peak}`);
  assert.equal(f.calls.length, 24);
});

test('backend down: error (never human), back-off without hammering, recovery after reset', async () => {
  let up = false;
  const f = fakeFetch((url) => {
    if (url.startsWith(BACKEND)) {
      if (!up) throw new TypeError('Failed to fetch');
      return json(200, { label: 'human', probability_ai: 0.2 });
    }
    return png();
  });
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  const r1 = await c.classify('https://x/a.png');
  assert.equal(r1.state, 'error');
  assert.equal(r1.error, 'backend_unreachable');
  const posts = () => f.calls.filter((x) => x.url.startsWith(BACKEND)).length;
  assert.equal(posts(), 1);
  const r2 = await c.classify('https://x/b.png');
  assert.equal(r2.state, 'error');
  assert.equal(posts(), 1, 'backing off: no new request to the backend');
  up = true;
  c.reset();
  const r3 = await c.classify('https://x/a.png');
  assert.equal(r3.state, 'human', 'errors are not cached');
});

test('unsupported or corrupt images are errors', async () => {
  const f = fakeFetch((url) => (url.startsWith(BACKEND) ? json(415, { error: 'unsupported_format', message: 'GIF not supported' }) : png()));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  const r = await c.classify('https://x/a.gif');
  assert.equal(r.state, 'error');
  assert.equal(r.error, 'unsupported_image');
  assert.equal(r.message, 'GIF not supported');
});

test('image download failure is an error', async () => {
  const f = fakeFetch(() => new Response('nope', { status: 404 }));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  const r = await c.classify('https://x/missing.png');
  assert.equal(r.error, 'image_unreadable');
  assert.equal(f.calls.length, 1, 'nothing sent to the backend');
});

test('data: bytes from the content script are posted as they are', async () => {
  const f = fakeFetch(() => json(200, { label: 'uncertain', probability_ai: 0.5 }));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn });
  const r = await c.classify('data:image/webp;base64,AAAA', { bytes: new Uint8Array([1, 2, 3]), type: 'image/webp' });
  assert.equal(r.state, 'uncertain');
  assert.equal(f.calls.length, 1);
  assert.equal(f.calls[0].init.headers['Content-Type'], 'image/webp');
  assert.equal((await f.calls[0].init.body.arrayBuffer()).byteLength, 3);
});

test('busy backend (503 + Retry-After) is retried until it answers, never dropped', async () => {
  let n = 0;
  const slept = [];
  const f = fakeFetch(() => (n++ < 6 ? json(503, { error: 'busy', message: 'busy' }, n === 1 ? { 'Retry-After': '2' } : {}) : json(200, { label: 'ai', probability_ai: 0.99 })));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn, sleep: async (ms) => { slept.push(ms); } });
  const r = await c.classify('data:x', { bytes: new Uint8Array([1]), type: 'image/png' });
  assert.equal(r.state, 'ai');
  assert.equal(n, 7);
  assert.deepEqual(slept, [2000, 1000, 2000, 4000, 8000, 10000], 'Retry-After first, then exponential back-off, capped');
});

test('a backend busy past the whole retry budget gives an error, not a label', async () => {
  const f = fakeFetch(() => json(503, { error: 'busy', message: 'queue full' }));
  let waited = 0;
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn, sleep: async (ms) => { waited += ms; } });
  const r = await c.classify('data:x', { bytes: new Uint8Array([1]), type: 'image/png' });
  assert.equal(r.state, 'error');
  assert.equal(r.error, 'backend_busy');
  assert.ok(waited >= BUSY_RETRY_BUDGET_MS);
  assert.equal(busyDelayMs(0, null), 500);
  assert.equal(busyDelayMs(3, 'abc'), 4000);
  assert.equal(busyDelayMs(0, '600'), 10000);
});

test('image and model hashes: from the backend when sent, else the image hash computed here; thumbnails attached', async () => {
  const imageSha = 'a'.repeat(64);
  const modelSha = 'b'.repeat(64);
  const bodies = [
    { label: 'ai', probability_ai: 0.9, image_sha256: imageSha, model_sha256: modelSha },
    { label: 'ai', probability_ai: 0.9, sha256: modelSha }, // a backend from before the split
  ];
  let i = 0;
  const f = fakeFetch((url) => (url.startsWith(BACKEND) ? json(200, bodies[i++]) : png()));
  const c = createClassifier({ getSettings: settings, fetchImpl: f.fn, thumbnail: async (blob) => `data:thumb;${blob.size}` });
  const a = await c.classify('https://x/new.png');
  assert.equal(a.imageSha256, imageSha);
  assert.equal(a.modelSha256, modelSha);
  assert.equal(a.thumbnail, `data:thumb;${PNG_BYTES.length}`);
  const b = await c.classify('https://x/old.png');
  assert.equal(b.imageSha256, PNG_SHA256, 'computed with crypto.subtle');
  assert.equal(b.modelSha256, modelSha, "the old `sha256` is the model's");
});
