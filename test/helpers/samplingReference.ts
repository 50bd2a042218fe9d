/**
 * Reference implementations of the sampling semantics, by definition rather than speed: the kept set by a full sort of
 * the vocabulary, and Gumbel-max by a full scan without pruning.
 */
import type { SamplingSettings } from '../../src/engine/decode/types';
import { STREAM_GUMBEL, gumbel, uniform } from '../../src/engine/decode/rng';

/**
 * Reference for the sampling semantics, by a full sort of the vocabulary. Uses the same
 * floating-point formulas (weights exp((l − max)·(1/T)), Z summed in id order, prefix sums in
 * sorted order) so that the kept set must match exactly.
 */
export function naiveKept(logits: Float32Array, vocabLimit: number, s: SamplingSettings): { ids: number[]; probs: number[] } {
  const n = Math.min(vocabLimit, logits.length);
  let top = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[top]) top = i;
  if (s.temperature === 0) return { ids: [top], probs: [1] };
  const maxL = logits[top];
  const invT = 1 / s.temperature;
  const w = new Float64Array(n);
  let z = 0;
  for (let i = 0; i < n; i++) {
    w[i] = Math.exp((logits[i] - maxL) * invT);
    z += w[i];
  }
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => w[b] - w[a] || a - b);
  let mass = z;
  if (s.topK > 0 && s.topK < n) {
    order = order.slice(0, s.topK);
    mass = 0;
    for (const i of order) mass += w[i];
  }
  if (s.topP < 1) {
    const target = s.topP * mass;
    let cum = 0;
    let j = 0;
    for (; j < order.length - 1; j++) {
      cum += w[order[j]];
      if (cum >= target) break;
    }
    order = order.slice(0, j + 1);
  }
  let zk = 0;
  for (const i of order) zk += w[i];
  return { ids: order, probs: order.map((i) => w[i] / zk) };
}

/** Dense kept distribution from naiveKept, length n. */
export function naiveDense(logits: Float32Array, vocabLimit: number, s: SamplingSettings): Float64Array {
  const k = naiveKept(logits, vocabLimit, s);
  const out = new Float64Array(Math.min(vocabLimit, logits.length));
  k.ids.forEach((id, j) => (out[id] = k.probs[j]));
  return out;
}

/** The definition of Gumbel-max sampling, no pruning: argmax over `ids` of l/T + G, ties to the lowest id. */
export function gumbelFullScan(logits: Float32Array, ids: ArrayLike<number>, T: number, seed: number, pos: number): number {
  let best = -Infinity;
  let bestId = -1;
  for (let j = 0; j < ids.length; j++) {
    const i = ids[j];
    const s = logits[i] / T + gumbel(uniform(seed, pos, i, STREAM_GUMBEL));
    if (bestId < 0 || s > best || (s === best && i < bestId)) {
      best = s;
      bestId = i;
    }
  }
  return bestId;
}
