/**
 * CSV export of scan results. Pure, unit-tested.
 */

/**
 * Quote one CSV field (RFC 4180); also neutralises spreadsheet formulas.
 * @param {unknown} v
 * @returns {string}
 */
export function csvField(v) {
  let s = v === undefined || v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Results to CSV text, with a header row.
 * @param {{url: string, state: string, probabilityAi?: number, modelVersion?: string, error?: string}[]} rows
 * @returns {string}
 */
export function resultsToCsv(rows) {
  const header = ['url', 'label', 'probability_ai', 'model_version', 'error'];
  const lines = [header.join(',')];
  for (const r of rows) {
    lines.push(
      [r.url, r.state, typeof r.probabilityAi === 'number' ? r.probabilityAi.toFixed(4) : '', r.modelVersion || '', r.error || '']
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
