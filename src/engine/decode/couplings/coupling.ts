/**
 * What a coupling is to the decode loop (decode.ts): for one generation it makes the drafter's draft policy and the
 * target's per-position chooser, which takes the target's logits row and the draft at that position and returns the
 * token to emit and whether the draft was kept. decode.ts knows nothing more about any coupling; registry.ts lists
 * them. A coupling through public randomness (each model samples alone from its own row with the shared noise of the
 * position) is drafter-invariant by construction and needs only a TokenSampler: samplerCoupling builds the rest.
 *
 * Also the checks every sampler shares (seed, vocabulary size).
 */
import type { DraftPolicy } from '../drafters/drafter';
import type { SamplingSettings, TokenSampler } from '../types';

/** The largest vocabulary a sampler accepts: 64·vocabLimit darts must fit the uint32 id word (wmh.ts). */
export const MAX_VOCAB = 1 << 26;

/** Throws unless seed is an integer in [0, 2^53 − 1] (the range rng.hash32 encodes exactly). */
export function validateSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be an integer in [0, 2^53 - 1], got ${seed}`);
  }
}

export function validateVocab(vocabLimit: number): void {
  if (!Number.isInteger(vocabLimit) || vocabLimit <= 0 || vocabLimit > MAX_VOCAB) {
    throw new RangeError(`vocabLimit must be an integer in [1, 2^26], got ${vocabLimit}`);
  }
}

/** The target's side of a coupling in one generation. Called once per verified position; must not allocate. */
export interface TargetChooser {
  /**
   * The target's token at `position` from its logits row. `draft` is the drafter's token there, or −1 at the bonus
   * position (no draft); `q` is the drafter's dense probability row when its policy is dense (undefined otherwise,
   * and for a deterministic drafter: a point mass on `draft`). Sets `accepted`.
   */
  choose(logits: Float32Array, position: number, draft: number, q: Float32Array | undefined): number;
  /** Whether the last choose() kept its draft (false at the bonus position). The round ends at the first false. */
  readonly accepted: boolean;
}

/** A coupling made for one generation: the target's chooser and the drafter's policy. */
export interface CouplingRun {
  readonly target: TargetChooser;
  readonly draft: DraftPolicy;
}

/** Each model's own sampler of a coupling through public randomness. */
export type SamplerFactory = (settings: SamplingSettings, seed: number, vocabLimit: number) => TokenSampler;

export interface CouplingSpec<Id extends string = string> {
  /** The name in settings, CLI options and request JSON. */
  readonly id: Id;
  /** Whether every drafter gives the target's text byte for byte (`lockstep verify` compares only these). */
  readonly invariant: boolean;
  /** One line: the setting's enumDescription (package.json, checked by a test) and help. */
  readonly description: string;
  /** A short name for messages, e.g. "Gumbel-max coupling". */
  readonly title: string;
  /** Builds the coupling for one generation with the target's and the drafter's own sampling settings. */
  make(target: SamplingSettings, draft: SamplingSettings, seed: number, vocabLimit: number): CouplingRun;
}

/** A coupling through public randomness: it also hands out each model's sampler (benchmarks and tests use it alone). */
export interface SamplerCouplingSpec<Id extends string = string> extends CouplingSpec<Id> {
  readonly sampler: SamplerFactory;
}

/** The target samples alone with the shared noise; the draft is kept iff the target's own sample equals it. */
class SamplerChooser implements TargetChooser {
  accepted = false;
  constructor(private readonly sampler: TokenSampler) {}

  choose(logits: Float32Array, position: number, draft: number): number {
    const y = this.sampler.sample(logits, position);
    this.accepted = y === draft;
    return y;
  }
}

/** The spec of a coupling through public randomness: drafter-invariant, the drafter drafts with its own sampler. */
export function samplerCoupling<Id extends string>(
  head: { id: Id; description: string; title: string },
  sampler: SamplerFactory,
): SamplerCouplingSpec<Id> {
  return {
    ...head,
    invariant: true,
    sampler,
    make: (target, draft, seed, vocabLimit) => {
      const chooser = new SamplerChooser(sampler(target, seed, vocabLimit));
      return { target: chooser, draft: { sampler: sampler(draft, seed, vocabLimit) } };
    },
  };
}
