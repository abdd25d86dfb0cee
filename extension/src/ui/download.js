/**
 * Save text as a file from an extension page (popup, review page): a Blob behind a temporary
 * `<a download>` link, so no `downloads` permission is needed.
 */

/**
 * @param {string} text file contents
 * @param {string} type MIME type, e.g. "text/csv"
 * @param {string} filename suggested file name
 */
export function download(text, type, filename) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
