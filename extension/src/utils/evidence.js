/**
 * Provenance evidence beside the model's verdict (issue "Show why"). The backend does not send
 * evidence yet; when a result carries an `evidence` array (findings `{kind, says, source,
 * excerpt?, valid?, issuer?}`, `says` one of ai | human_edit | camera | unknown), the review page
 * shows the evidence column and the "evidence disagrees" filter, and exports add an `evidence`
 * column. Nothing here invents evidence: results without the field have none. Pure.
 */

/**
 * Whether any result carries evidence (the UI shows evidence parts only then).
 * @param {{evidence?: unknown}[]} results
 * @returns {boolean}
 */
export function hasEvidence(results) {
  return results.some((r) => Array.isArray(r.evidence));
}

/**
 * What the evidence as a whole says: "ai" when a finding says AI, "human" when findings say
 * camera or human edit and none says AI, else null (no evidence proves nothing).
 * @param {{says?: string, valid?: boolean}[]|undefined} evidence
 * @returns {'ai'|'human'|null}
 */
export function evidenceVerdict(evidence) {
  if (!Array.isArray(evidence)) return null;
  const says = evidence.filter((f) => f && f.valid !== false).map((f) => f.says);
  if (says.includes('ai')) return 'ai';
  if (says.some((s) => s === 'camera' || s === 'human_edit')) return 'human';
  return null;
}

/**
 * Whether the evidence and the model's label point opposite ways.
 * @param {{state: string, evidence?: object[]}} result
 * @returns {boolean}
 */
export function evidenceDisagrees(result) {
  const v = evidenceVerdict(result.evidence);
  return (v === 'ai' && result.state === 'human') || (v === 'human' && result.state === 'ai');
}

/**
 * One line for a cell or an export: "kind (source): says; ..." or "none".
 * @param {object[]|undefined} evidence
 * @returns {string} "" when the result carries no evidence field
 */
export function evidenceSummary(evidence) {
  if (!Array.isArray(evidence)) return '';
  if (!evidence.length) return 'none';
  return evidence
    .map((f) => `${f.kind || 'finding'}${f.source ? ` (${f.source})` : ''}: ${f.says || 'unknown'}${f.valid === false ? ' [invalid]' : ''}`)
    .join('; ');
}
