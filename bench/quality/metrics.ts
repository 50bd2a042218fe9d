/**
 * Completion quality metrics of CrossCodeEval (Ding et al. 2023): exact match, edit similarity and identifier F1,
 * each comparing a completion with the code that was removed from the file. Whitespace at either end does not count
 * (the editor trims it as well); inside the text it does.
 */

const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;

export interface QualityScores {
  exactMatch: number;
  editSimilarity: number;
  identifierF1: number;
}

export function exactMatch(prediction: string, reference: string): number {
  return prediction.trim() === reference.trim() ? 1 : 0;
}

/** Levenshtein distance in UTF-16 code units, two rows. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1);
      cur[j] = Math.min(sub, prev[j] + 1, cur[j - 1] + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** 1 − distance / longer length (CrossCodeEval's ES); 1 when both are empty. */
export function editSimilarity(prediction: string, reference: string): number {
  const p = prediction.trim();
  const r = reference.trim();
  const n = Math.max(p.length, r.length);
  return n === 0 ? 1 : 1 - editDistance(p, r) / n;
}

function identifiers(text: string): string[] {
  return text.match(IDENTIFIER) ?? [];
}

/** F1 of the identifier multisets; 1 when neither side has one, 0 when only one side has. */
export function identifierF1(prediction: string, reference: string): number {
  const p = identifiers(prediction);
  const r = identifiers(reference);
  if (p.length === 0 && r.length === 0) return 1;
  if (p.length === 0 || r.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const x of r) counts.set(x, (counts.get(x) ?? 0) + 1);
  let common = 0;
  for (const x of p) {
    const c = counts.get(x) ?? 0;
    if (c > 0) {
      common++;
      counts.set(x, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

export function scoreCompletion(prediction: string, reference: string): QualityScores {
  return {
    exactMatch: exactMatch(prediction, reference),
    editSimilarity: editSimilarity(prediction, reference),
    identifierF1: identifierF1(prediction, reference),
  };
}

/** The mean of each metric over completions (zeros for none). */
export function meanScores(xs: readonly QualityScores[]): QualityScores {
  const n = Math.max(1, xs.length);
  const sum = (k: keyof QualityScores) => xs.reduce((s, x) => s + x[k], 0) / n;
  return { exactMatch: sum('exactMatch'), editSimilarity: sum('editSimilarity'), identifierF1: sum('identifierF1') };
}
