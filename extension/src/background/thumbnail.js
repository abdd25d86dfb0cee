/**
 * Thumbnails for the review page, made from the bytes the background already downloaded to
 * classify an image (nothing is downloaded again). Uses `createImageBitmap` and `OffscreenCanvas`
 * (Chromium's service worker, Firefox's event page); where they are missing (Node tests) there
 * is no thumbnail.
 */
import { bytesToBase64 } from '../utils/bytes.js';

/** Longest side of a thumbnail, px (cards show them at up to 160 CSS px). */
export const THUMBNAIL_SIDE = 192;

/**
 * @param {Blob} blob image bytes
 * @returns {Promise<string|undefined>} a `data:image/webp` (or JPEG) URL, or undefined when the
 *   image can't be decoded here
 */
export async function makeThumbnail(blob) {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas !== 'function') return undefined;
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
    const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, w, h);
    let out = await canvas.convertToBlob({ type: 'image/webp', quality: 0.8 });
    if (out.type !== 'image/webp') out = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
    return `data:${out.type};base64,${bytesToBase64(await out.arrayBuffer())}`;
  } catch {
    return undefined;
  } finally {
    bitmap?.close?.();
  }
}
