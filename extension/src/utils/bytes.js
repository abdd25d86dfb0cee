/**
 * Byte transport between content script and background (extension messages are
 * JSON-serialised on Chromium, so bytes travel as base64). Pure, unit-tested.
 */

import limits from '../../../backend/limits.json' with { type: 'json' };

/** Largest image the extension sends, bytes (the backend refuses more with 413); backend/limits.json. */
export const MAX_IMAGE_BYTES = limits.max_image_bytes;

/**
 * @param {ArrayBuffer|Uint8Array} buf
 * @returns {string} base64
 */
export function bytesToBase64(buf) {
  const view = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  // A copy owned by this script: in a Firefox content script fetch() hands back the page
  // compartment's buffer, whose views refuse `constructor`, which subarray() reads.
  const u8 = new Uint8Array(view.length);
  u8.set(view);
  let bin = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < u8.length; i += CHUNK) bin += String.fromCharCode.apply(null, u8.subarray(i, i + CHUNK));
  return btoa(bin);
}

/**
 * @param {string} b64
 * @returns {Uint8Array}
 */
export function base64ToBytes(b64) {
  const bin = atob(b64);
  const u8 = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
  return u8;
}

/**
 * Content-Type to send to the backend for image bytes.
 * @param {string|undefined|null} type MIME type reported by fetch/Blob
 * @returns {string}
 */
export function uploadContentType(type) {
  const t = (type || '').split(';')[0].trim().toLowerCase();
  return /^image\/[a-z0-9.+-]+$/.test(t) ? t : 'application/octet-stream';
}
