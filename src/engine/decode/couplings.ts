/**
 * The two drafter-invariant couplings of arXiv 2408.07978 as TokenSamplers. Each model owns
 * one sampler; the noise is keyed on (seed, absolute position, token id) only (see rng.ts),
 * so a model's sample at a position depends on nothing but its own logits row, the seed and
 * its sampling settings. Two models sampling the same position with the same seed agree with
 * the probabilities given in couplingTheory.ts.
 *
 * Both return the greedy argmax (ties to the lowest id) without randomness when T < GREEDY_BELOW (1e-6, T = 0
 * included; see sampling.ts for why).
 */

import type { SamplingSettings, TokenSampler } from './types';
import { GUMBEL_MAX, STREAM_DART_HEIGHT, STREAM_DART_TOKEN, STREAM_GUMBEL, gumbel, gumbelFrom, hashFrom, positionState, unitFromHash } from './rng';
import { argmaxLowestId, isGreedy } from './greedy';
import { Distribution, validateSettings } from './sampling';

/** The largest vocabulary a sampler accepts: 64·vocabLimit darts must fit the uint32 id word. */
export const MAX_VOCAB = 1 << 26;

/** Throws unless seed is an integer in [0, 2^53 − 1] (the range rng.hash32 encodes exactly). */
export function validateSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be an integer in [0, 2^53 - 1], got ${seed}`);
  }
}

function validateVocab(vocabLimit: number): void {
  if (!Number.isInteger(vocabLimit) || vocabLimit <= 0 || vocabLimit > MAX_VOCAB) {
    throw new RangeError(`vocabLimit must be an integer in [1, 2^26], got ${vocabLimit}`);
  }
}

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

/**
 * Weighted MinHash by dart throwing (the paper's second coupling). Dart m = 0, 1, 2, …:
 * token k_m = floor(uniform(seed, position, m, STREAM_DART_TOKEN) · vocabLimit), height
 * h_m = uniform(seed, position, m, STREAM_DART_HEIGHT); the sample is k_m of the first dart
 * with h_m ≤ p(k_m), p = this model's kept, renormalised distribution (0 outside it and for
 * ids beyond the row). Pr[k] ∝ p(k)/vocabLimit, i.e. exactly p.
 *
 * The height is drawn first and compared with max p: most darts cost one hash.
 * Expected darts per sample = vocabLimit. After 64·vocabLimit darts without a hit (probability
 * (1 − 1/V)^{64V} < e^-64 ≈ 1.6e-28) it falls back to the argmax (lowest id), so the law is
 * exact up to that probability.
 *
 * The drafter and the target must use the same vocabLimit: the dart's token depends on it.
 */
export class WeightedMinHashSampler implements TokenSampler {
  /** Darts thrown by the last sample() call (for benchmarks; 0 when greedy). */
  darts = 0;
  private readonly dist: Distribution;

  readonly settings: Readonly<SamplingSettings>;

  constructor(settings: SamplingSettings, readonly seed: number, readonly vocabLimit: number) {
    validateSettings(settings);
    validateSeed(seed);
    validateVocab(vocabLimit);
    this.settings = { ...settings };
    this.dist = new Distribution(vocabLimit);
  }

  sample(logits: Float32Array, position: number): number {
    if (isGreedy(this.settings.temperature)) {
      this.darts = 0;
      return argmaxLowestId(logits, this.vocabLimit);
    }
    const dist = this.dist;
    dist.fromLogits(logits, this.settings);
    const seed = this.seed;
    const V = this.vocabLimit;
    const maxP = dist.maxProb;
    const limit = 64 * V;
    const state = positionState(seed, position); // the hash prefix shared by every dart at this position
    for (let m = 0; m < limit; m++) {
      const h = unitFromHash(hashFrom(state, m, STREAM_DART_HEIGHT));
      if (h > maxP) continue;
      const k = Math.floor(unitFromHash(hashFrom(state, m, STREAM_DART_TOKEN)) * V);
      if (h <= dist.prob(k)) {
        this.darts = m + 1;
        return k;
      }
    }
    this.darts = limit;
    return dist.argmaxId;
  }
}

/** A coupled sampler for one model: 'gumbel' (Gumbel-max) or 'wmh' (Weighted MinHash). */
export function makeSampler(
  kind: 'gumbel' | 'wmh',
  settings: SamplingSettings,
  seed: number,
  vocabLimit: number,
): TokenSampler {
  switch (kind) {
    case 'gumbel':
      return new GumbelSampler(settings, seed, vocabLimit);
    case 'wmh':
      return new WeightedMinHashSampler(settings, seed, vocabLimit);
    default: {
      const never: never = kind;
      throw new RangeError(`unknown coupling ${String(never)}`);
    }
  }
}
