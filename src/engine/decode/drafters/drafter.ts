/**
 * What every drafter is (Drafter), and what every kind of drafter is to the registry (DrafterKind): how its names
 * are written in settings, options and requests, and how the engine makes one. registry.ts lists the kinds;
 * drafterSpec.ts reads and writes the names. Drafters propose the next tokens; the target decides. For the coupled
 * (drafter-invariant) loops a model drafter samples each draft with the same public randomness as the target at that
 * absolute position, with its own logits and its own sampling settings. Whatever a drafter proposes, the emitted text
 * is the target's own seeded sample.
 */
import type { CallCosts } from '../../runtime/callCosts';
import type { TokenSampler } from '../types';

export interface Drafts {
  tokens: number[];
  /**
   * Dense drafter distributions q for each draft (standard speculative sampling only), views valid until the next
   * draft() call. A deterministic drafter (prompt lookup) leaves this undefined: q is a point mass on its token.
   */
  probs?: Float32Array[];
  /** Model calls made to produce these drafts. */
  calls: number;
}

/** How a model drafter turns logits into a draft: a coupled sampler, or dense probabilities plus a sampler. */
export interface DraftPolicy {
  sampler: TokenSampler;
  /** When set, the drafter also fills a dense probability row per draft (standard speculative sampling). */
  dense?: (logits: Float32Array, position: number, out: Float32Array) => number;
}

export interface Drafter {
  readonly name: string;
  /** Proposes up to `gamma` tokens to follow `context` (prompt + emitted tokens so far). */
  draft(context: readonly number[], gamma: number, policy: DraftPolicy): Promise<Drafts>;
  /** Seconds spent in model calls, for the adaptive γ cost ratio; 0 for free drafters. */
  readonly secondsPerCall: number;
  reset(): void;
}

/** What the engine (or a benchmark) gives a kind's make(). */
export interface DrafterContext {
  /** The drafters `auto` may choose among (those of candidate kinds), read each round: models load later. */
  candidates(): Drafter[];
  /** The target's measured call costs (a getter: the target can be swapped for its fused copy). */
  costs(): CallCosts;
  /** The drafter of a loaded model: one per model, so that every kind drafting with it shares its cache. */
  model(name: string): Drafter;
}

/** The words a kind's picker line may use. */
export interface DrafterWords {
  /** The catalog's title of the model the name names (model kinds). */
  title: string;
  /** What `auto` chooses among here. */
  candidates: string;
}

/** One kind of drafter: the one place that knows how its names are written and how it is made. */
export interface DrafterKind<S extends { readonly kind: string }> {
  readonly kind: S['kind'];
  /** How help texts write its names: 'none', 'catalog id | directory', 'prompt-lookup+<model>'. */
  readonly usage: string;
  /** Whether its names name a model (a catalog id or directory), which the engine loads before it can draft. */
  readonly needsModel: boolean;
  /** Whether it drafts with the target's first recommended drafter model when one is available (that model is loaded). */
  readonly loadsRecommended: boolean;
  /** Whether `auto` may choose it. */
  readonly candidate: boolean;
  /** Whether Verify Drafter Invariance compares it (not `auto`: it only picks among the others). */
  readonly verified: boolean;
  /** Whether it takes every name no other kind claims (tried last). */
  readonly fallback: boolean;
  /** Its spec for a drafter name, or undefined when the name is not one of its own. */
  parse(name: string): S | undefined;
  /** Its spec, naming `model` when it needs one. */
  spec(model: string): S;
  format(spec: S): string;
  /** One line for the Choose Drafter picker. */
  describe(spec: S, words: DrafterWords): string;
  make(spec: S, ctx: DrafterContext): Drafter;
}
