/**
 * Weighted MinHash, the second drafter-invariant coupling of arXiv 2408.07978. Like Gumbel-max (gumbel.ts) each
 * model samples alone from its own row with the public randomness of (seed, absolute position); two models agree
 * with the probability given in couplingTheory.ts (wmhAgreement).
 *
 * Returns the greedy argmax (ties to the lowest id) without randomness when T < GREEDY_BELOW (1e-6, T = 0
 * included; see sampling.ts for why).
 */
import type { SamplingSettings, TokenSampler } from '../types';
import { STREAM_DART_HEIGHT, STREAM_DART_TOKEN, hashFrom, positionState, unitFromHash } from '../rng';
import { argmaxLowestId, isGreedy } from '../greedy';
import { Distribution, validateSettings } from '../sampling';
import { samplerCoupling, validateSeed, validateVocab } from './coupling';

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

export const WMH = samplerCoupling(
  {
    id: 'wmh',
    title: 'Weighted MinHash coupling',
    description: 'Weighted MinHash coupling: drafter-invariant.',
  },
  (settings, seed, vocabLimit) => new WeightedMinHashSampler(settings, seed, vocabLimit),
);
