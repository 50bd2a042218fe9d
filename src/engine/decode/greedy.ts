/** Greedy decoding: when a temperature counts as zero, and the argmax that it then takes. */

/**
 * Temperatures below this are greedy, exactly as T = 0: the argmax, ties to the lowest id, no randomness. The one
 * place that decides it: the couplings (couplings/gumbel.ts, couplings/wmh.ts), the standard sampler (through
 * Distribution) and Distribution ask isGreedy().
 *
 * Why a threshold at all: as T → 0 the arithmetic breaks before the law converges. Gumbel scores l/T overflow to
 * +∞ for every positive logit once T < |l|/1.8e308 (T ≤ ~1e-307 for logits ~20), so every positive logit ties and
 * the lowest such id wins, not the argmax; 1/T overflows below 2^-1024 ≈ 5.6e-309, so the argmax's weight
 * exp(0 · ∞) is NaN → 0 and Weighted MinHash throws all 64·V darts before falling back (~100 ms a token).
 * Every float32 logit has |l| ≤ 3.4e38, so T ≥ 1.9e-270 would keep l/T finite; the threshold sits far above that.
 *
 * Why 1e-6: below it only logits within ~1e-5 of the maximum keep a visible chance (a gap Δ weighs exp(−Δ/T)), and
 * differences that small are below the rounding noise of the forward pass itself (float32 logits of magnitude ~10
 * carry ~1e-6 relative error; fp16 and q4 variants more), so a sample there would be decided by arithmetic, not by
 * the model. Greedy is the limit of softmax(l/T) except on exact ties, which it gives to the lowest id. The
 * largest temperature the settings allow (5) and anything down to the threshold stay finite: l/T ≤ 3.4e44.
 */
export const GREEDY_BELOW = 1e-6;

/** True when `temperature` samples greedily (T < GREEDY_BELOW, T = 0 included). */
export function isGreedy(temperature: number): boolean {
  return temperature < GREEDY_BELOW;
}

/** Index of the largest logit among ids < min(vocabLimit, logits.length); ties to the lowest id. */
export function argmaxLowestId(logits: Float32Array, vocabLimit: number): number {
  const n = Math.min(vocabLimit, logits.length);
  let best = -Infinity;
  let id = 0;
  for (let i = 0; i < n; i++) {
    const l = logits[i];
    if (l > best) {
      best = l;
      id = i;
    }
  }
  return id;
}
