/** Statistics of one logits row, for checking that the stand-in's distributions are not flat (agreement.ts, tests). */

/** Index of the largest logit (the first on ties). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Entropy in nats of softmax(row) at T = 1 (a flat row over V tokens gives ln V). */
export function entropy(row: Float32Array): number {
  const max = row[argmax(row)];
  let z = 0;
  for (const x of row) z += Math.exp(x - max);
  let h = 0;
  for (const x of row) {
    const p = Math.exp(x - max) / z;
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}
