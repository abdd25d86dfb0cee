/**
 * sha256 of bytes with Web Crypto (`crypto.subtle`, in every extension context and in Node).
 */

/**
 * @param {Blob|ArrayBuffer|Uint8Array} data
 * @returns {Promise<string>} 64 lowercase hex digits
 */
export async function sha256Hex(data) {
  const buf = data instanceof Blob ? await data.arrayBuffer() : data;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
