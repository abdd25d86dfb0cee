/**
 * Chromium extension ID from the manifest `key`. Node only (uses node:crypto); used by the
 * build and its test, not shipped in the extension.
 */
import { createHash } from 'node:crypto';

/**
 * @param {string} keyBase64 base64 of the DER SubjectPublicKeyInfo
 * @returns {string} 32-letter ID: first 32 hex digits of sha256(DER), mapped 0-f to a-p
 */
export function extensionIdFromKey(keyBase64) {
  const hex = createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}
