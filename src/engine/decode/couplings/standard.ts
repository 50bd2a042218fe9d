/**
 * Standard speculative sampling (Leviathan et al. 2023; Chen et al. 2023), the reference
 * that is *not* drafter-invariant: accept draft x with probability min(1, p(x)/q(x)); on
 * rejection sample norm(max(0, p − q)); when all γ drafts are accepted the target samples
 * the bonus token from p. Its per-token acceptance is 1 − TV(p, q), the optimal coupling.
 * p is the target's distribution, q the drafter's, both dense over ids (after each model's
 * own temperature / top-k / top-p, e.g. Distribution.fullProbs).
 *
 * Randomness (rng.ts), one uniform per (position, use), never a sequential generator:
 *  - uniform(seed, position, 0, STREAM_STANDARD_DRAFT):  the drafter's inverse-CDF draw of
 *    its draft at `position`;
 *  - uniform(seed, position, 0, STREAM_STANDARD_ACCEPT): the acceptance test
 *    u < min(1, p/q) of the draft at `position`;
 *  - uniform(seed, position, 0, STREAM_STANDARD_TARGET): the target's draw at `position`:
 *    the residual sample after a rejection, or the bonus token (from p).
 * The three streams are independent, as the algorithm's correctness requires; never reuse
 * coupling noise (Gumbel / dart streams) here: mixing shared noise with the u < p/q rule
 * biases the output (vLLM PRs 47386, 54282).
 *
 * The coupling (STANDARD): the drafter drafts from its dense q and hands the rows over (Drafts.probs); the target
 * turns each logits row into a dense p and verifies. Nothing allocates per token (rows grow only when wider).
 */

import type { DraftPolicy } from '../drafters/drafter';
import type { SamplingSettings } from '../types';
import {
  STREAM_STANDARD_ACCEPT,
  STREAM_STANDARD_DRAFT,
  STREAM_STANDARD_TARGET,
  uniform,
} from '../rng';
import { Distribution } from '../sampling';
import type { CouplingSpec, TargetChooser } from './coupling';

type Dense = Float32Array | Float64Array;

/**
 * Inverse-CDF sample from dense (not necessarily normalised) non-negative weights p[0..n):
 * the first index whose cumulative sum exceeds u·total. Zero entries are never returned. If
 * rounding makes the scan fall off the end, returns the last index with p > 0.
 * Throws if no entry is positive.
 */
export function sampleInverseCdf(p: Dense, n: number, u: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += p[i];
  const target = u * total;
  let cum = 0;
  for (let i = 0; i < n; i++) {
    cum += p[i];
    if (cum > target) return i;
  }
  for (let i = n - 1; i >= 0; i--) if (p[i] > 0) return i;
  throw new RangeError('sampleInverseCdf: no positive probability');
}

/**
 * min(1, pTarget / qDraft), the probability of accepting a draft token. A draft the drafter
 * could not have drawn (q = 0) is accepted iff the target gives it positive probability.
 */
export function acceptProbability(pTarget: number, qDraft: number): number {
  if (!(qDraft > 0)) return pTarget > 0 ? 1 : 0;
  return pTarget >= qDraft ? 1 : pTarget / qDraft;
}

/**
 * Sample from norm(max(0, p − q)) over ids [0, n) by inverse CDF with uniform u (the
 * rejection distribution). If the residual mass is 0 (p ≤ q everywhere, i.e. p = q up to
 * rounding), samples p instead.
 */
export function sampleResidual(p: Dense, q: Dense, n: number, u: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = p[i] - q[i];
    if (r > 0) total += r;
  }
  if (!(total > 0)) return sampleInverseCdf(p, n, u);
  const target = u * total;
  let cum = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const r = p[i] - q[i];
    if (r > 0) {
      cum += r;
      last = i;
      if (cum > target) return i;
    }
  }
  return last;
}

/** The drafter's draft at `position`: inverse CDF of q with the STREAM_STANDARD_DRAFT uniform. */
export function standardDraft(q: Dense, n: number, seed: number, position: number): number {
  return sampleInverseCdf(q, n, uniform(seed, position, 0, STREAM_STANDARD_DRAFT));
}

/**
 * Verifies one draft token at `position`: returns the draft if accepted (STREAM_STANDARD_ACCEPT
 * uniform < min(1, p/q)), otherwise a residual sample (STREAM_STANDARD_TARGET uniform), which
 * differs from the draft except when the residual mass is 0 up to rounding.
 * The caller ends the round at the first returned token that is not the draft.
 */
export function standardVerify(
  p: Dense,
  q: Dense,
  n: number,
  draft: number,
  seed: number,
  position: number,
): number {
  const u = uniform(seed, position, 0, STREAM_STANDARD_ACCEPT);
  if (u < acceptProbability(p[draft], q[draft])) return draft;
  return sampleResidual(p, q, n, uniform(seed, position, 0, STREAM_STANDARD_TARGET));
}

/** The target's own draw from p at `position` (the bonus token), STREAM_STANDARD_TARGET uniform. */
export function standardTarget(p: Dense, n: number, seed: number, position: number): number {
  return sampleInverseCdf(p, n, uniform(seed, position, 0, STREAM_STANDARD_TARGET));
}

/** Residual sample norm(max(0, p − q)); a deterministic drafter's q is a point mass on its draft d. */
function residualFor(p: Float32Array, q: Float32Array | undefined, d: number, u: number, n: number): number {
  if (q) return sampleResidual(p, q, n, u);
  const saved = p[d];
  p[d] = Math.max(0, saved - 1);
  const y = sampleInverseCdf(p, n, u);
  p[d] = saved;
  return y;
}

/**
 * The target's side: p = its dense distribution of each row; a draft d is kept when u·q(d) < p(d) (u < min(1, p/q)
 * without a division), else the residual is sampled; at the bonus position it samples p.
 */
class StandardChooser implements TargetChooser {
  accepted = false;
  private readonly dist: Distribution;
  private p = new Float32Array(0);

  constructor(private readonly settings: SamplingSettings, private readonly seed: number, vocabLimit: number) {
    this.dist = new Distribution(vocabLimit);
  }

  choose(logits: Float32Array, position: number, draft: number, q: Float32Array | undefined): number {
    if (this.p.length < logits.length) this.p = new Float32Array(logits.length);
    const p = this.p;
    this.dist.fromLogits(logits, this.settings);
    this.dist.fullProbs(p);
    if (draft < 0) {
      this.accepted = false;
      return sampleInverseCdf(p, logits.length, uniform(this.seed, position, 0, STREAM_STANDARD_TARGET));
    }
    const qd = q ? q[draft] : 1;
    this.accepted = uniform(this.seed, position, 0, STREAM_STANDARD_ACCEPT) * qd < p[draft];
    if (this.accepted) return draft;
    return residualFor(p, q, draft, uniform(this.seed, position, 0, STREAM_STANDARD_TARGET), logits.length);
  }
}

/** The drafter's side: it fills its dense q per draft and draws the draft from it (standardDraft). */
function standardDraftPolicy(settings: SamplingSettings, seed: number, vocabLimit: number): DraftPolicy {
  const dist = new Distribution(vocabLimit);
  return {
    sampler: { sample: () => { throw new Error('standard drafting uses dense probabilities'); } },
    dense(logits: Float32Array, position: number, out: Float32Array): number {
      dist.fromLogits(logits, settings);
      dist.fullProbs(out);
      return sampleInverseCdf(out, logits.length, uniform(seed, position, 0, STREAM_STANDARD_DRAFT));
    },
  };
}

export const STANDARD: CouplingSpec<'standard'> = {
  id: 'standard',
  invariant: false,
  title: 'Leviathan/Chen speculative sampling',
  description: 'Standard speculative sampling (Leviathan/Chen): NOT drafter-invariant — the text depends on the drafter. For comparison only.',
  make: (target, draft, seed, vocabLimit) => {
    // The drafter's policy first, then the target's distribution: the order the loop has always built them in.
    const policy = standardDraftPolicy(draft, seed, vocabLimit);
    return { target: new StandardChooser(target, seed, vocabLimit), draft: policy };
  },
};
