/**
 * CSV text (RFC 4180) safe to open in a spreadsheet. Pure, unit-tested.
 */

/**
 * Quote one CSV field; a cell starting with = + - @ (or a tab or carriage return) is prefixed
 * with ' so that spreadsheets don't run it as a formula.
 * @param {unknown} v
 * @returns {string}
 */
export function csvField(v) {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Rows to CSV text with a header row.
 * @param {readonly string[]} columns header, and the keys read from each row
 * @param {Record<string, unknown>[]} rows
 * @returns {string}
 */
export function toCsv(columns, rows) {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
