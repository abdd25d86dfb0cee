/**
 * Talking to the local backend: fetch image bytes (credentials omitted), POST them to
 * /v1/classify with a bounded queue, cache by URL, back off while the backend is down, wait and
 * retry while it answers busy (503). Each result also gets the image's sha256 (the backend's
 * `image_sha256`, else computed here) and a thumbnail made from the same bytes.
 */
import { createBackoff, createTtlCache } from '../utils/cache.js';
import { MAX_IMAGE_BYTES, uploadContentType } from '../utils/bytes.js';
import { sha256Hex } from '../utils/hash.js';
import { explanationFromResponse, resultFromResponse } from '../utils/label.js';
import { createQueue } from '../utils/queue.js';
import { STATE } from '../utils/states.js';
import { makeThumbnail } from './thumbnail.js';

/** Most simultaneous requests to the backend. */
export const MAX_CONCURRENT = 3;
/** How long a result stays cached, ms. */
export const RESULT_TTL_MS = 30 * 60 * 1000;
/** Time limit for one backend request, ms. */
export const REQUEST_TIMEOUT_MS = 60 * 1000;
/** How long an image may wait in total for a busy backend (503) before it is reported as an error, ms. */
export const BUSY_RETRY_BUDGET_MS = 5 * 60 * 1000;

const errorResult = (error, message) => ({ state: STATE.ERROR, error, message });
const realSleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Delay before the next try after a busy answer: the backend's `Retry-After` when given, else
 * exponential from 0.5 s; at most 10 s.
 * @param {number} attempt 0 for the first retry
 * @param {string|null} retryAfter the header's value (seconds)
 * @returns {number} ms
 */
export function busyDelayMs(attempt, retryAfter) {
  const ra = Number(retryAfter);
  const ms = retryAfter !== null && Number.isFinite(ra) && ra >= 0 ? ra * 1000 : 500 * 2 ** attempt;
  return Math.min(10000, Math.max(100, ms));
}

/**
 * @param {{getSettings: () => Promise<{backendUrl: string, token: string}>, fetchImpl?: typeof fetch,
 *   sleep?: (ms: number) => Promise<void>, thumbnail?: (blob: Blob) => Promise<string|undefined>}} deps
 *   sleep and thumbnail are injectable for tests
 */
export function createClassifier({ getSettings, fetchImpl = (...a) => fetch(...a), sleep = realSleep, thumbnail = makeThumbnail }) {
  const queue = createQueue({ concurrency: MAX_CONCURRENT });
  const cache = createTtlCache({ ttlMs: RESULT_TTL_MS, maxEntries: 2000 });
  const backoff = createBackoff({ baseMs: 1000, maxMs: 30000 });
  const inflight = new Map();

  async function withTimeout(url, init, ms = REQUEST_TIMEOUT_MS) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), ms);
    try {
      return await fetchImpl(url, { ...init, signal: ctl.signal });
    } finally {
      clearTimeout(t);
    }
  }

  /** Fetch an image's bytes from the network, without cookies. */
  async function fetchImage(url) {
    let resp;
    try {
      resp = await withTimeout(url, { credentials: 'omit', cache: 'force-cache', referrerPolicy: 'no-referrer' }, 30000);
    } catch (e) {
      return { error: errorResult('image_unreadable', `Could not download the image (${e.message || e})`) };
    }
    if (!resp.ok) return { error: errorResult('image_unreadable', `Image download failed (HTTP ${resp.status})`) };
    const blob = await resp.blob();
    return { blob };
  }

  /** The image's bytes: those read by the content script (`data:`/`blob:` images), else downloaded. */
  async function blobFor(url, bytes, type) {
    if (bytes) return { blob: new Blob([bytes], { type: type || '' }) };
    if (!/^https?:/i.test(url)) return { error: errorResult('unsupported_image', 'Unsupported image URL') };
    return fetchImage(url);
  }

  /**
   * POST bytes to the backend (`path`: /v1/classify or /v1/explain); returns `parse(body)` for a
   * 200, else an error result. Busy answers are retried, never dropped.
   */
  async function postBytes(blob, type, path = '/v1/classify', parse = resultFromResponse) {
    if (blob.size === 0) return errorResult('unsupported_image', 'Empty image');
    if (blob.size > MAX_IMAGE_BYTES) return errorResult('unsupported_image', 'Image too large');
    const { backendUrl, token } = await getSettings();
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      if (backoff.isBackingOff()) {
        return errorResult('backend_unreachable', `Backend unreachable at ${backendUrl}; retrying in ${Math.ceil(backoff.remainingMs() / 1000)} s`);
      }
      let resp;
      try {
        const headers = { 'Content-Type': uploadContentType(type || blob.type) };
        if (token) headers['X-Shinsaku-Token'] = token;
        resp = await withTimeout(`${backendUrl}${path}`, { method: 'POST', body: blob, headers, credentials: 'omit' });
      } catch (e) {
        backoff.fail();
        return errorResult('backend_unreachable', `Backend unreachable at ${backendUrl}`);
      }
      let body = null;
      try {
        body = await resp.json();
      } catch {
        body = null;
      }
      if (resp.ok) {
        backoff.succeed();
        return parse(body);
      }
      if (resp.status === 503 && waited < BUSY_RETRY_BUDGET_MS) {
        const delay = busyDelayMs(attempt, resp.headers.get('Retry-After'));
        waited += delay;
        await sleep(delay);
        continue;
      }
      const code = body && body.error ? String(body.error) : `http_${resp.status}`;
      const message = body && body.message ? String(body.message) : `Backend answered HTTP ${resp.status}`;
      if ([413, 415, 422].includes(resp.status)) return errorResult('unsupported_image', message);
      if (resp.status === 401 || resp.status === 403) return errorResult('unauthorized', message);
      if (resp.status === 503) return errorResult('backend_busy', `${message} (still busy after ${Math.round(waited / 1000)} s)`);
      if (resp.status >= 500) backoff.fail();
      return errorResult(code, message);
    }
  }

  /** Classify bytes; the result carries the image's sha256 and, when it decodes here, a thumbnail. */
  async function classifyBlob(blob, type) {
    const [result, sha, thumb] = await Promise.all([
      postBytes(blob, type),
      sha256Hex(blob).catch(() => undefined),
      blob.size > 0 && blob.size <= MAX_IMAGE_BYTES ? thumbnail(blob).catch(() => undefined) : undefined,
    ]);
    if (!result.imageSha256 && sha) result.imageSha256 = sha;
    if (thumb) result.thumbnail = thumb;
    return result;
  }

  /**
   * Classify the image at `url`. For `data:`/`blob:` images pass the bytes read by the
   * content script. Results (not errors) are cached by URL.
   * @param {string} url
   * @param {{bytes?: Uint8Array, type?: string}} [opts]
   * @returns {Promise<{state: string, label?: string, probabilityAi?: number, modelVersion?: string,
   *   imageSha256?: string, modelSha256?: string, thumbnail?: string, error?: string, message?: string, cached?: boolean}>}
   */
  function classify(url, { bytes, type } = {}) {
    const hit = cache.get(url);
    if (hit) return Promise.resolve({ ...hit, cached: true });
    if (inflight.has(url)) return inflight.get(url);
    const p = queue
      .push(async () => {
        const got = await blobFor(url, bytes, type);
        return got.error || classifyBlob(got.blob, type);
      })
      .then((r) => {
        if (r.state !== STATE.ERROR) cache.set(url, r);
        return r;
      })
      .catch((e) => errorResult('internal', String(e && e.message ? e.message : e)))
      .finally(() => inflight.delete(url));
    inflight.set(url, p);
    return p;
  }

  /**
   * Explain the verdict on the image at `url` (`POST /v1/explain`): heat map, crop, evidence.
   * Not cached (the card asks once per image and keeps it). Bytes as for {@link classify}.
   * @param {string} url
   * @param {{bytes?: Uint8Array, type?: string}} [opts]
   * @returns {Promise<object>} see label.js `explanationFromResponse`, or an error result
   */
  function explain(url, { bytes, type } = {}) {
    return queue
      .push(async () => {
        const got = await blobFor(url, bytes, type);
        return got.error || postBytes(got.blob, type, '/v1/explain', explanationFromResponse);
      })
      .catch((e) => errorResult('internal', String(e && e.message ? e.message : e)));
  }

  /**
   * Backend health and model description.
   * @returns {Promise<{ok: boolean, status?: string, model?: object, error?: string}>}
   */
  async function status() {
    const { backendUrl, token } = await getSettings();
    const headers = token ? { 'X-Shinsaku-Token': token } : {};
    try {
      const h = await withTimeout(`${backendUrl}/v1/health`, { headers, credentials: 'omit' }, 5000);
      const hb = await h.json().catch(() => ({}));
      if (!h.ok) return { ok: false, error: `Backend not ready (HTTP ${h.status})`, backendUrl };
      const m = await withTimeout(`${backendUrl}/v1/model`, { headers, credentials: 'omit' }, 5000);
      const model = m.ok ? await m.json().catch(() => null) : null;
      backoff.succeed();
      return { ok: true, status: hb.status, model, backendUrl };
    } catch (e) {
      return { ok: false, error: `Backend unreachable at ${backendUrl}`, backendUrl };
    }
  }

  return {
    classify,
    explain,
    status,
    /** The cached result for a URL, without classifying (undefined when none). @param {string} url */
    peek(url) {
      return cache.get(url);
    },
    /** Forget cached results and back-off state (after settings change). */
    reset() {
      cache.clear();
      backoff.succeed();
    },
    get queue() {
      return queue;
    },
  };
}
