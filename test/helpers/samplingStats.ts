/**
 * Statistical checks for samplers: Pearson chi-square tests that draws follow (or, as a power check, do not follow)
 * a distribution, and the draw counts they test.
 */
import assert from 'node:assert/strict';

/** Draws per statistical check. */
export const N = 20000;

/** Upper 0.1% quantile of chi-square(df), Wilson–Hilferty approximation (z = 3.0902). */
function chiSquareCritical001(df: number): number {
  const z = 3.0902;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * Pearson chi-square of counts against probs (N draws). Categories with probability 0 must
 * have no draws at all. Returns [statistic, degrees of freedom].
 */
function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>, draws: number): [number, number] {
  let chi = 0;
  let cats = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      assert.equal(counts[i], 0, `token ${i} has probability 0 but was drawn ${counts[i]} times`);
      continue;
    }
    const e = draws * probs[i];
    chi += (counts[i] - e) ** 2 / e;
    cats++;
  }
  return [chi, cats - 1];
}

export function assertFollows(label: string, counts: ArrayLike<number>, probs: ArrayLike<number>, draws: number): void {
  const [chi, df] = chiSquare(counts, probs, draws);
  const crit = chiSquareCritical001(df);
  assert.ok(chi < crit, `${label}: chi-square ${chi.toFixed(1)} >= ${crit.toFixed(1)} (df ${df})`);
}

export function assertDoesNotFollow(label: string, counts: ArrayLike<number>, probs: ArrayLike<number>, draws: number): void {
  let chi = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) {
      if (counts[i] > 0) return; // impossible draws: clearly not following
      continue;
    }
    chi += (counts[i] - draws * probs[i]) ** 2 / (draws * probs[i]);
  }
  assert.ok(chi > chiSquareCritical001(probs.length - 1), `${label}: the chi-square test has no power here`);
}

/** How often `sampler` draws each token of `logits` over positions 0 … draws − 1. */
export function drawCounts(sampler: { sample(l: Float32Array, pos: number): number }, logits: Float32Array, draws: number): Float64Array {
  const counts = new Float64Array(logits.length);
  for (let pos = 0; pos < draws; pos++) counts[sampler.sample(logits, pos)]++;
  return counts;
}
