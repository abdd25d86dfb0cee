/**
 * Badge overlay: one host element at the end of <html> with its own shadow root, so the
 * page's styles can't reach the badges and the badges don't take part in the page layout.
 * Badges are absolutely positioned over their images and follow them on scroll/resize.
 */
import { evidenceDisagrees } from '../utils/evidence.js';
import { badgeText, stateCss } from '../utils/states.js';

/** How long "Locate" flashes an image's outline, ms. */
export const FLASH_MS = 2400;

const CSS = `
:host { all: initial; }
.badge {
  position: absolute; box-sizing: border-box; max-width: 160px; padding: 2px 7px;
  border-radius: 9px; font: 600 12px/16px system-ui, -apple-system, "Segoe UI", sans-serif;
  letter-spacing: 0; color: #fff; background: #455a64; white-space: nowrap; pointer-events: auto;
  margin: 0; text-align: left; cursor: pointer; appearance: none;
  box-shadow: 0 1px 3px rgba(0,0,0,.45); border: 1px solid rgba(255,255,255,.7); opacity: .95;
}
${stateCss('.badge')}
.badge[data-decision] { border: 2px solid #fff; outline: 2px solid #1a1a1a; }
.badge[data-disagrees] { max-width: 300px; border: 2px dashed #fff; box-shadow: 0 0 0 2px #6a1b9a, 0 1px 3px rgba(0,0,0,.45); }
.badge.right { transform: translateX(-100%); }
.badge.bottom { transform: translateY(-100%); }
.badge.right.bottom { transform: translate(-100%, -100%); }
.badge[hidden] { display: none; }
.flash {
  position: absolute; box-sizing: border-box; pointer-events: none; border-radius: 4px;
  outline: 4px solid #ffeb3b; box-shadow: 0 0 0 8px rgba(26,26,26,.55);
  animation: shinsaku-flash ${FLASH_MS / 3}ms ease-in-out 3;
}
@keyframes shinsaku-flash { 50% { outline-color: #c62828; box-shadow: 0 0 0 2px rgba(26,26,26,.2); } }
@media (prefers-reduced-motion: reduce) { .flash { animation: none; } }
`;

const INSET_PX = 4;

export class Overlay {
  constructor() {
    /** @type {Map<Element, HTMLElement>} image -> badge */
    this.badges = new Map();
    /** @type {Map<Element, HTMLElement>} image -> its "Locate" flash */
    this.flashes = new Map();
    /** @type {WeakMap<Element, boolean>} image -> last known intersection with the viewport */
    this.inView = new WeakMap();
    this.position = 'top-left';
    this.host = null;
    this.root = null;
    this.frame = 0;
    /** @type {Set<() => void>} called after every repositioning (the detail card, its heat map) */
    this.followers = new Set();
    /** @type {((img: Element, badge: HTMLElement) => void)|null} a badge was clicked or pressed */
    this.onActivate = null;
  }

  ensureHost() {
    if (this.host && this.host.isConnected) return;
    if (!this.host) {
      this.host = document.createElement('shinsaku-overlay');
      this.host.setAttribute(
        'style',
        'all: initial !important; position: absolute !important; top: 0 !important; left: 0 !important; ' +
          'width: 0 !important; height: 0 !important; overflow: visible !important; margin: 0 !important; ' +
          'padding: 0 !important; border: 0 !important; z-index: 2147483647 !important; pointer-events: none !important; display: block !important;',
      );
      this.root = this.host.attachShadow({ mode: 'open' });
      const style = document.createElement('style');
      style.textContent = CSS;
      this.root.appendChild(style);
    }
    (document.documentElement || document.body).appendChild(this.host);
  }

  /**
   * Show or update the badge of an image.
   * @param {Element} img
   * @param {{state: string, probabilityAi?: number, message?: string, error?: string}} result
   * @param {string} url image URL the result belongs to
   * @param {string} [decision] the moderator's decision on it (see decisions.js)
   */
  set(img, result, url, decision) {
    this.ensureHost();
    let b = this.badges.get(img);
    if (!b) {
      // A button: focusable, and Enter/Space click it; it opens the detail card (card.js).
      b = document.createElement('button');
      b.type = 'button';
      b.className = 'badge';
      b.setAttribute('aria-haspopup', 'dialog');
      b.setAttribute('aria-expanded', 'false');
      b.addEventListener('click', (e) => {
        e.preventDefault();
        e.stopPropagation();
        this.onActivate?.(img, b);
      });
      this.root.appendChild(b);
      this.badges.set(img, b);
    }
    const { text, alt } = badgeText(result, decision);
    b.textContent = text;
    b.setAttribute('aria-label', alt);
    b.title = alt;
    b.dataset.state = result.state;
    b.dataset.url = url;
    if (typeof result.probabilityAi === 'number') b.dataset.probability = String(result.probabilityAi);
    else delete b.dataset.probability;
    if (result.error) b.dataset.error = result.error;
    else delete b.dataset.error;
    if (decision) b.dataset.decision = decision;
    else delete b.dataset.decision;
    if (evidenceDisagrees(result)) b.dataset.disagrees = 'true';
    else delete b.dataset.disagrees;
    this.place(img, b);
  }

  /**
   * Flash an image's outline for {@link FLASH_MS} ("Locate" on the review page).
   * @param {Element} img
   * @param {string} url the image URL, kept on the flash element
   */
  flash(img, url) {
    this.ensureHost();
    this.flashes.get(img)?.remove();
    const f = document.createElement('div');
    f.className = 'flash';
    f.dataset.url = url;
    this.root.appendChild(f);
    this.flashes.set(img, f);
    this.placeFlash(img, f);
    setTimeout(() => {
      f.remove();
      if (this.flashes.get(img) === f) this.flashes.delete(img);
    }, FLASH_MS);
  }

  /** Put a flash over its image. @param {Element} img @param {HTMLElement} f */
  placeFlash(img, f) {
    const r = img.getBoundingClientRect();
    const h = this.host.getBoundingClientRect();
    Object.assign(f.style, {
      left: `${Math.round(r.left - h.left)}px`, top: `${Math.round(r.top - h.top)}px`,
      width: `${Math.round(r.width)}px`, height: `${Math.round(r.height)}px`,
    });
  }

  /** Remove an image's badge. @param {Element} img */
  remove(img) {
    const b = this.badges.get(img);
    if (b) b.remove();
    this.badges.delete(img);
  }

  /** Remove every badge. */
  clear() {
    for (const img of [...this.badges.keys()]) this.remove(img);
  }

  /** @param {string} position one of BADGE_POSITIONS */
  setPosition(position) {
    this.position = position;
    this.schedule();
  }

  /** Reposition all badges on the next animation frame. */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.placeAll();
    });
  }

  placeAll() {
    for (const [img, f] of this.flashes) this.placeFlash(img, f);
    for (const follow of this.followers) follow();
    if (!this.badges.size) return;
    this.ensureHost();
    for (const [img, b] of this.badges) {
      if (!img.isConnected) this.remove(img);
      else this.place(img, b);
    }
  }

  place(img, b) {
    const r = img.getBoundingClientRect();
    const visible = r.width > 0 && r.height > 0 && this.inView.get(img) !== false;
    b.hidden = !visible;
    if (!visible) return;
    const h = this.host.getBoundingClientRect();
    const right = this.position.endsWith('right');
    const bottom = this.position.startsWith('bottom');
    const x = (right ? r.right - INSET_PX : r.left + INSET_PX) - h.left;
    const y = (bottom ? r.bottom - INSET_PX : r.top + INSET_PX) - h.top;
    b.classList.toggle('right', right);
    b.classList.toggle('bottom', bottom);
    b.style.left = `${Math.round(x)}px`;
    b.style.top = `${Math.round(y)}px`;
  }
}
