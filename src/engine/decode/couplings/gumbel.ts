/**
 * Gumbel-max sampling, the first drafter-invariant coupling of arXiv 2408.07978 (the paper's "Gumbel sampling" /
 * exponential race). Each model owns one sampler; the noise is keyed on (seed, absolute position, token id) only
 * (see rng.ts), so a model's sample at a position depends on nothing but its own logits row, the seed and its
 * sampling settings. Two models sampling the same position with the same seed agree with the probability given in
 * couplingTheory.ts (gumbelAgreement).
 *
 * Returns the greedy argmax (ties to the lowest id) without randomness when T < GREEDY_BELOW (1e-6, T = 0
 * included; see sampling.ts for why).
 */
import type { SamplingSettings, TokenSampler } from '../types';
import { GUMBEL_MAX, STREAM_GUMBEL, gumbel, gumbelFrom, hashFrom, positionState, unitFromHash } from '../rng';
import { argmaxLowestId, isGreedy } from '../greedy';
import { Distribution, validateSettings } from '../sampling';
import { samplerCoupling, validateSeed, validateVocab } from './coupling';

/**
 * Largest t such that every logit l ≤ t has score fl(fl(l / T) + G) < best for every Gumbel
 * value G ≤ GUMBEL_MAX, so that token cannot win (ties are not pruned: an equal score can
 * still win on a lower id). Starts from (best − GUMBEL_MAX)·T and steps down until the
 * bound holds *in floating point*: division by T > 0 and addition are monotone under
 * rounding, so checking fl(fl(t / T) + GUMBEL_MAX) < best covers every l ≤ t.
 * With a non-finite best nothing is pruned (−∞ is returned).
 */
export function pruneThreshold(best: number, T: number): number {
  if (!Number.isFinite(best)) return -Infinity;
  let t = (best - GUMBEL_MAX) * T;
  let step = Math.max(Math.abs(t), 1) * 2 ** -50;
  while (t / T + GUMBEL_MAX >= best) {
    t -= step;
    step *= 2;
  }
  return t;
}

/**
 * U_FLOOR[k] = exp(−exp(−(k − 1))) for k ≥ 2 (0 below): a token whose deficit d = best − l/T is at least k can
 * only reach the best score with G = −ln(−ln u) ≥ d, i.e. u ≥ exp(−exp(−d)) ≥ U_FLOOR[k] (one nat of slack covers
 * the rounding of d and of G). Testing u against it costs no logarithm; at V = 151 936 most tokens of a flat row
 * (T = 1: all within GUMBEL_MAX of the best) fail it.
 */
const U_FLOOR = Float64Array.from({ length: 64 }, (_, k) => (k < 2 ? 0 : Math.exp(-Math.exp(-(k - 1)))));

/** The Gumbel score l/T + G of token i, or −∞ when its uniform is below U_FLOOR of its deficit (it cannot win). */
function gumbelScore(state: number, i: number, l: number, T: number, best: number): number {
  const d = best - l / T;
  if (d >= 2) {
    const u = unitFromHash(hashFrom(state, i, STREAM_GUMBEL));
    if (u < U_FLOOR[d < 63 ? d | 0 : 63]) return -Infinity;
    return l / T + gumbel(u); // gumbel(u) is gumbelFrom(state, i), bit for bit
  }
  return l / T + gumbelFrom(state, i);
}

/**
 * Gumbel-max sampling: token = argmax over kept tokens of (l_i / T + G_i) with
 * G_i = gumbel(uniform(seed, position, i, STREAM_GUMBEL)), ties to the lowest id; its law is
 * softmax(l / T) restricted to the kept set (the Gumbel-max trick; the paper's "Gumbel
 * sampling" / exponential race).
 *
 * Exact pruning: the plain argmax a is scored first; a token with l_i / T + GUMBEL_MAX < best
 * cannot win, which is tested as l_i ≤ pruneThreshold(best) on the raw logit (no division,
 * no hash); a token within the bound is dropped without a logarithm when its uniform is too small for its deficit
 * (U_FLOOR). The result is bit-for-bit the full scan's. Without top-k/top-p the Distribution
 * is not needed at all; with them the scan runs over the kept ids only.
 */
export class GumbelSampler implements TokenSampler {
  /** Tokens hashed by the last sample() call (for benchmarks; 0 when greedy). */
  hashed = 0;
  private readonly dist: Distribution;
  private readonly truncates: boolean;

  readonly settings: Readonly<SamplingSettings>;

  constructor(settings: SamplingSettings, readonly seed: number, readonly vocabLimit: number) {
    validateSettings(settings);
    validateSeed(seed);
    validateVocab(vocabLimit);
    this.settings = { ...settings }; // a copy: later edits by the caller must not change the law
    this.dist = new Distribution(vocabLimit);
    this.truncates = settings.topK > 0 || settings.topP < 1;
  }

  sample(logits: Float32Array, position: number): number {
    const T = this.settings.temperature;
    if (isGreedy(T)) {
      this.hashed = 0;
      return argmaxLowestId(logits, this.vocabLimit);
    }
    if (this.truncates) {
      this.dist.fromLogits(logits, this.settings);
      return this.scanKept(logits, position, T);
    }
    return this.scanAll(logits, position, T);
  }

  private scanAll(logits: Float32Array, position: number, T: number): number {
    const seed = this.seed;
    const n = Math.min(this.vocabLimit, logits.length);
    const a = argmaxLowestId(logits, n);
    let bestId = a;
    const state = positionState(seed, position);
    let best = logits[a] / T + gumbelFrom(state, a);
    let threshold = pruneThreshold(best, T);
    let hashed = 1;
    for (let i = 0; i < n; i++) {
      const l = logits[i];
      if (!(l > threshold) || i === a) continue;
      hashed++;
      const s = gumbelScore(state, i, l, T, best);
      if (s > best || (s === best && i < bestId)) {
        best = s;
        bestId = i;
        threshold = pruneThreshold(best, T);
      }
    }
    this.hashed = hashed;
    return bestId;
  }

  private scanKept(logits: Float32Array, position: number, T: number): number {
    const seed = this.seed;
    const ids = this.dist.ids;
    const size = this.dist.size;
    const a = ids[0];
    let bestId = a;
    const state = positionState(seed, position);
    let best = logits[a] / T + gumbelFrom(state, a);
    let threshold = pruneThreshold(best, T);
    let hashed = 1;
    for (let j = 1; j < size; j++) {
      const i = ids[j];
      const l = logits[i];
      if (!(l > threshold)) continue;
      hashed++;
      const s = gumbelScore(state, i, l, T, best);
      if (s > best || (s === best && i < bestId)) {
        best = s;
        bestId = i;
        threshold = pruneThreshold(best, T);
      }
    }
    this.hashed = hashed;
    return bestId;
  }
}

export const GUMBEL = samplerCoupling(
  {
    id: 'gumbel',
    title: 'Gumbel-max coupling',
    description: 'Gumbel-max coupling: drafter-invariant (the same text for every drafter).',
  },
  (settings, seed, vocabLimit) => new GumbelSampler(settings, seed, vocabLimit),
);
