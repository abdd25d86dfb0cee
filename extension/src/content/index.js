/**
 * Content script. Injected either by the auto-label registration (sites the user switched
 * on) or on demand (context menu, "Scan this page") through activeTab. Finds images
 * (<img> with currentSrc/srcset, <picture>, open shadow roots), follows lazy loading and
 * infinite scroll, skips hidden and small images, and draws badges.
 */
import { ext } from '../utils/api.js';
import { bytesToBase64, MAX_IMAGE_BYTES } from '../utils/bytes.js';
import { MSG } from '../utils/messages.js';
import { DEFAULT_SETTINGS, normalizeSettings } from '../utils/settings.js';
import { qualifies, isHiddenStyle } from '../utils/size.js';
import { chooseImageUrl, urlFetchMode } from '../utils/srcset.js';
import { STATE } from '../utils/states.js';
import { decisionForUserLabel, saveDecision } from '../utils/decisions.js';
import { createDetailCard } from './card.js';
import { watchDecisions } from './decisions.js';
import { Overlay } from './overlay.js';
import { createSite } from './site.js';

/** Debounce for rescans after DOM changes, ms. */
const RESCAN_DEBOUNCE_MS = 250;
/** Distance around the viewport where images are checked ahead of scrolling, px. */
const LOOKAHEAD_PX = 300;
/** Retry delay for images that failed because the backend was unreachable, ms. */
const ERROR_RETRY_MS = 30000;

if (!globalThis.__shinsakuContentLoaded) {
  globalThis.__shinsakuContentLoaded = true;
  main();
}

function main() {
  let settings = { ...DEFAULT_SETTINGS };
  let auto = false;
  const overlay = new Overlay();
  // The site's adapter (src/sites/): larger renditions, what the page declares about a work.
  const site = createSite(location, document);
  /** @type {WeakMap<Element, {url: string, result: object, at: number, promise?: Promise<object>}>} */
  const records = new WeakMap();
  const seen = new WeakSet();
  const observedRoots = new WeakSet();
  let io = null;
  let ro = null;
  let mo = null;
  let rescanTimer = 0;
  let tickTimer = 0;
  const decisions = watchDecisions(() => refreshBadges());
  const card = createDetailCard(overlay, {
    explain: (url) => requestClassification(url, MSG.EXPLAIN),
    status: () => ext.runtime.sendMessage({ type: MSG.STATUS }),
    // A correction is the person's label in the one local decisions store (never sent anywhere).
    correct: (url, result, label) => saveDecision(ext.storage.local, location.href, { ...result, url }, decisionForUserLabel(label)),
  });
  overlay.onActivate = (img, badge) => {
    const rec = records.get(img);
    if (rec) card.open(img, badge, rec.url, rec.result);
  };

  /* ---------- discovery ---------- */

  /** All <img> under a root, including inside open shadow roots. */
  function findImages(root = document) {
    const out = [...root.querySelectorAll('img')];
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) {
        if (auto && mo && !observedRoots.has(el.shadowRoot)) {
          observedRoots.add(el.shadowRoot);
          mo.observe(el.shadowRoot, MO_OPTIONS);
        }
        out.push(...findImages(el.shadowRoot));
      }
    }
    return out;
  }

  function isHidden(img) {
    if (typeof img.checkVisibility === 'function') {
      if (!img.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true, opacityProperty: true, visibilityProperty: true })) return true;
    }
    for (let el = img; el && el.nodeType === 1; el = el.parentElement || el.getRootNode()?.host) {
      if (isHiddenStyle(getComputedStyle(el))) return true;
    }
    return false;
  }

  function imageUrl(img) {
    const picture = img.parentElement && img.parentElement.tagName === 'PICTURE' ? img.parentElement : null;
    const sourceSrcsets = picture
      ? [...picture.querySelectorAll('source')]
          .filter((s) => !s.media || matchMedia(s.media).matches)
          .map((s) => s.srcset)
          .filter(Boolean)
      : [];
    const r = img.getBoundingClientRect();
    return chooseImageUrl(
      { currentSrc: img.currentSrc, src: img.getAttribute('src') || '', srcset: img.getAttribute('srcset') || '', sourceSrcsets, renderedWidth: r.width, dpr: devicePixelRatio },
      document.baseURI,
    );
  }

  /**
   * Qualification of one image: {ok, reason, url}.
   * @param {HTMLImageElement} img
   * @param {{unloaded?: boolean}} [opts] unloaded: also accept an image not loaded yet (a page
   *   scan's `loading=lazy` images; auto mode waits for their `load` event instead)
   */
  function describe(img, { unloaded = false } = {}) {
    const r = img.getBoundingClientRect();
    // Natural size too: CSS can stretch a 16384 x 1 strip or a 1 px image to any rendered size.
    let q = qualifies({ width: r.width, height: r.height, hidden: isHidden(img),
      naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight }, settings.minSize);
    if (unloaded && q.reason === 'not-loaded') q = { ok: true };
    return { ...q, url: q.ok ? imageUrl(img) : null };
  }

  /* ---------- classification ---------- */

  async function readPageBytes(url) {
    const resp = await fetch(url, { credentials: 'omit' });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    const buf = await resp.arrayBuffer();
    if (buf.byteLength > MAX_IMAGE_BYTES) throw new Error('Image too large');
    return { bytesB64: bytesToBase64(buf), mime: resp.headers.get('Content-Type') || '' };
  }

  /** Ask the background to classify (or, with `type` MSG.EXPLAIN, explain) the image at `url`. */
  async function requestClassification(url, type = MSG.CLASSIFY) {
    const mode = urlFetchMode(url);
    if (mode === 'unsupported') return { state: STATE.ERROR, error: 'unsupported_image', message: 'Unsupported image URL' };
    const msg = { type, url };
    if (mode === 'page') {
      try {
        Object.assign(msg, await readPageBytes(url));
      } catch (e) {
        return { state: STATE.ERROR, error: 'image_unreadable', message: String(e.message || e) };
      }
    }
    let result = await sendClassify(msg);
    if (mode === 'network' && result.error === 'image_unreadable') {
      // The background could not download it (no access to the image's host, e.g. a CDN on a
      // site used through activeTab): try from the page, which works for same-origin and CORS images.
      try {
        result = await sendClassify({ ...msg, ...(await readPageBytes(url)) });
      } catch {
        /* keep the first error */
      }
    }
    return result;
  }

  async function sendClassify(msg) {
    try {
      const r = await ext.runtime.sendMessage(msg);
      return r && r.state ? r : { state: STATE.ERROR, error: 'internal', message: 'No answer from the extension' };
    } catch (e) {
      return { state: STATE.ERROR, error: 'internal', message: String(e.message || e) };
    }
  }

  function show(img, url, result) {
    if (result.state === STATE.HUMAN && !settings.showHuman) overlay.remove(img);
    else overlay.set(img, result, url, decisions.decisionFor(url));
  }

  /** Re-apply the size filter (auto mode), human-badge visibility and decisions to every badge. */
  function refreshBadges() {
    for (const img of findImages()) {
      const rec = records.get(img);
      if (!rec) continue;
      if (auto && !describe(img).ok) {
        overlay.remove(img);
        records.delete(img);
      } else if (rec.result.state !== STATE.CHECKING) show(img, rec.url, rec.result);
    }
  }

  /**
   * Classify one image and keep its badge up to date.
   * @returns {Promise<object>} result record with `url`
   */
  function classifyImage(img, url, { force = false } = {}) {
    const rec = records.get(img);
    if (!force && rec && rec.url === url) {
      const retry = rec.result.state === STATE.ERROR && Date.now() - rec.at > ERROR_RETRY_MS;
      if (!retry) return rec.promise || Promise.resolve({ url, ...rec.result });
    }
    const entry = { url, result: { state: STATE.CHECKING }, at: Date.now() };
    records.set(img, entry);
    show(img, url, entry.result);
    entry.promise = site.classify(img, url, (u) => requestClassification(u)).then((result) => {
      if (records.get(img) === entry) {
        entry.result = result;
        entry.at = Date.now();
        show(img, url, result);
      }
      return { url, ...result };
    });
    return entry.promise;
  }

  function evaluate(img) {
    if (!img.isConnected) {
      overlay.remove(img);
      return null;
    }
    const d = describe(img);
    if (!d.ok || !d.url) {
      overlay.remove(img);
      records.delete(img);
      return null;
    }
    return classifyImage(img, d.url);
  }

  /* ---------- auto mode: observers ---------- */

  const MO_OPTIONS = { childList: true, subtree: true, attributes: true, attributeFilter: ['src', 'srcset', 'style', 'class', 'hidden', 'width', 'height', 'media'] };

  function scheduleRescan() {
    if (rescanTimer) return;
    rescanTimer = setTimeout(() => {
      rescanTimer = 0;
      rescan();
    }, RESCAN_DEBOUNCE_MS);
  }

  function rescan() {
    if (!auto) return;
    for (const img of findImages()) {
      if (!seen.has(img)) {
        seen.add(img);
        io.observe(img);
        ro.observe(img);
        img.addEventListener('load', () => overlay.inView.get(img) && evaluate(img));
      } else if (overlay.inView.get(img)) {
        evaluate(img);
      }
    }
    overlay.schedule();
  }

  function startAuto() {
    if (io) return;
    io = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          overlay.inView.set(e.target, e.isIntersecting);
          if (e.isIntersecting) evaluate(e.target);
        }
        overlay.schedule();
      },
      { rootMargin: `${LOOKAHEAD_PX}px` },
    );
    ro = new ResizeObserver(() => scheduleRescan());
    mo = new MutationObserver(() => scheduleRescan());
    mo.observe(document.documentElement, MO_OPTIONS);
    rescan();
  }

  function stopAuto() {
    if (!io) return;
    io.disconnect();
    ro.disconnect();
    mo.disconnect();
    io = ro = mo = null;
    overlay.clear();
  }

  /* ---------- badge placement ---------- */

  function startPlacement() {
    if (tickTimer) return;
    const onMove = () => overlay.schedule();
    addEventListener('scroll', onMove, { capture: true, passive: true });
    addEventListener('resize', onMove, { passive: true });
    // Layout can move images without any event (fonts, late content above): cheap check.
    tickTimer = setInterval(() => overlay.badges.size && overlay.placeAll(), 500);
  }

  /* ---------- on-demand: context menu and page scan ---------- */

  function sameUrl(a, b) {
    try {
      return new URL(a, document.baseURI).href === new URL(b, document.baseURI).href;
    } catch {
      return a === b;
    }
  }

  async function checkImage(srcUrl) {
    startPlacement();
    const imgs = findImages().filter((img) => sameUrl(img.currentSrc || img.src, srcUrl) || sameUrl(imageUrl(img) || '', srcUrl));
    if (!imgs.length) return { url: srcUrl, ...(await requestClassification(srcUrl)) };
    const results = await Promise.all(imgs.map((img) => {
      overlay.inView.delete(img);
      return classifyImage(img, srcUrl);
    }));
    return results[0];
  }

  async function scanPage() {
    startPlacement();
    decisions.reload().catch(() => {});
    const jobs = [];
    for (const img of findImages()) {
      const d = describe(img, { unloaded: true });
      if (d.ok && d.url) jobs.push(classifyImage(img, d.url));
    }
    const results = await Promise.all(jobs);
    const byUrl = new Map();
    for (const r of results) if (!byUrl.has(r.url)) byUrl.set(r.url, r);
    return { results: [...byUrl.values()], pageUrl: location.href, title: document.title };
  }

  /** Scroll to the (first) image showing `url` and flash its outline. */
  function locate(url) {
    const img = findImages().find((i) => records.get(i)?.url === url) ||
      findImages().find((i) => sameUrl(imageUrl(i) || '', url));
    if (!img) return { found: false };
    img.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
    overlay.inView.delete(img);
    overlay.flash(img, url);
    overlay.schedule();
    return { found: true };
  }

  ext.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
    if (msg?.type === MSG.CHECK_IMAGE) {
      checkImage(msg.srcUrl).then(sendResponse);
      return true;
    }
    if (msg?.type === MSG.SCAN) {
      scanPage().then(sendResponse);
      return true;
    }
    if (msg?.type === MSG.LOCATE) {
      sendResponse(locate(msg.url));
      return false;
    }
    return false;
  });

  /* ---------- settings ---------- */

  async function hello() {
    const reply = await ext.runtime.sendMessage({ type: MSG.HELLO });
    if (!reply) return;
    settings = normalizeSettings(reply.settings);
    overlay.setPosition(settings.badgePosition);
    const wasAuto = auto;
    auto = reply.auto;
    if (auto && !wasAuto) {
      startPlacement();
      startAuto();
    } else if (!auto && wasAuto) {
      stopAuto();
    }
  }

  ext.storage.onChanged.addListener((changes, area) => {
    // Settings only: decisions are followed by watchDecisions (a hello would reset the tally).
    if (area !== 'local' || !Object.keys(changes).some((k) => k in DEFAULT_SETTINGS)) return;
    hello().then(() => {
      if (changes.showHuman || changes.minSize) refreshBadges();
    });
  });

  hello().catch(() => {});
}
