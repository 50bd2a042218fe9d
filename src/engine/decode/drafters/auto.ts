/**
 * The `auto` drafter: each round it drafts with whichever loaded drafter (prompt lookup, a model, lookup then model)
 * is predicted to give the most tokens per unit of target time from what has been measured on this machine — its
 * acceptance, its cost per draft call relative to the target's call, and the target's cost of a call of γ + 1 tokens
 * against one (callCosts.ts) — and drafts nothing when no drafter is predicted to beat plain decoding. Choosing by
 * measurement rather than by name is safe here because every drafter gives the same text (the coupling makes the
 * output the target's own seeded sample), so switching changes only the speed.
 */
import { predictedSpeedup } from '../decode';
import type { Drafter, DrafterKind, DraftPolicy, Drafts } from './drafter';
import type { CallCosts } from '../../runtime/callCosts';

export const AUTO = 'auto';

/** Acceptance assumed for a drafter not tried yet: optimistic, so that each is tried. */
const PRIOR_ACCEPTANCE = 0.6;
/**
 * Every this many rounds the least recently used drafter drafts once, so that its figures stay current; one measured
 * to cost more than a target call per drafted token (a model drafter catching up on a new prompt: its prefill) only
 * every EXPENSIVE_REVISIT_EVERY rounds, since each revisit pays that again.
 */
const REVISIT_EVERY = 32;
const EXPENSIVE_REVISIT_EVERY = 256;
const WEIGHT = 0.3;

interface Figures {
  /** Per-token acceptance: decayed counts of accepted drafts and of rejections (a round ends at its first rejection). */
  accepted: number;
  rejected: number;
  alpha: number;
  rounds: number;
  lastRound: number;
  /** Measured seconds per drafted token, everything the drafter did for its drafts included (0: not measured). */
  secondsPerToken: number;
}

const fresh = (): Figures => ({ accepted: 0, rejected: 0, alpha: PRIOR_ACCEPTANCE, rounds: 0, lastRound: 0, secondsPerToken: 0 });

export class AutoDrafter implements Drafter {
  readonly name = AUTO;
  private readonly figures = new Map<string, Figures>();
  private chosen: Drafter | null = null;
  private last: { name: string; tokens: number[]; length: number; tail: number } | null = null;
  private round = 0;

  constructor(
    /** The drafters to choose from (the engine's loaded ones, but none and auto). */
    private readonly candidates: () => Drafter[],
    /** The target's measured call costs (a getter: the target can be swapped for its fused copy). */
    private readonly costs: () => CallCosts,
  ) {}

  get secondsPerCall(): number {
    return this.chosen?.secondsPerCall ?? 0;
  }

  /** The drafter used last (null: none was predicted to pay), for statistics and tests. */
  get current(): string | null {
    return this.chosen?.name ?? null;
  }

  async draft(context: readonly number[], gamma: number, policy: DraftPolicy): Promise<Drafts> {
    this.learn(context);
    this.round++;
    const d = this.pick(Math.max(1, gamma));
    this.chosen = d;
    if (!d || gamma <= 0) {
      this.last = null;
      return { tokens: [], calls: 0 };
    }
    const t0 = performance.now();
    const out = await d.draft(context, gamma, policy);
    // The round's whole cost, a model drafter's catching up on a new prompt included: what choosing it really costs.
    const f = this.figures.get(d.name) ?? fresh();
    const perToken = (performance.now() - t0) / 1000 / Math.max(1, out.tokens.length);
    f.secondsPerToken = f.secondsPerToken === 0 ? perToken : (1 - WEIGHT) * f.secondsPerToken + WEIGHT * perToken;
    this.figures.set(d.name, f);
    this.last = { name: d.name, tokens: out.tokens, length: context.length, tail: context[context.length - 1] };
    return out;
  }

  /** Predicted tokens per unit of target time for each drafter (the best γ up to `maxGamma`); 1 is plain decoding. */
  scores(maxGamma: number): { name: string; score: number }[] {
    const costs = this.costs();
    const one = costs.secondsFor(1);
    return this.candidates().map((d) => {
      const c = this.costRatio(d, one);
      const f = this.figures.get(d.name);
      const alpha = f && f.rounds > 0 ? f.alpha : PRIOR_ACCEPTANCE;
      let score = 0;
      for (let g = 1; g <= maxGamma; g++) score = Math.max(score, predictedSpeedup(alpha, g, c, costs.ratio(g + 1)));
      return { name: d.name, score };
    });
  }

  /** A drafter's cost per drafted token relative to a target call (measured when it was used); free ones still widen the verification call. */
  private costRatio(d: Drafter, targetCall: number): number {
    const measured = this.figures.get(d.name)?.secondsPerToken ?? 0;
    if (targetCall > 0 && measured > 0) return Math.max(0.02, measured / targetCall);
    if (d.secondsPerCall === 0) return 0.02;
    return targetCall > 0 ? d.secondsPerCall / targetCall : 0.3;
  }

  /** The acceptance of the last round's drafts, read off the context that grew from them (the same request only). */
  private learn(context: readonly number[]): void {
    const l = this.last;
    this.last = null;
    if (!l || l.tokens.length === 0 || context.length <= l.length || context[l.length - 1] !== l.tail) return;
    let accepted = 0;
    while (accepted < l.tokens.length && l.length + accepted < context.length && context[l.length + accepted] === l.tokens[accepted]) accepted++;
    const f = this.figures.get(l.name) ?? fresh();
    // Drafts are accepted up to the first rejection: a round is `accepted` successes and, unless all were accepted, one
    // failure, so the per-token acceptance is successes ÷ trials (counts decayed so that recent rounds weigh more).
    f.accepted = (1 - WEIGHT) * f.accepted + accepted;
    f.rejected = (1 - WEIGHT) * f.rejected + (accepted < l.tokens.length ? 1 : 0);
    f.alpha = f.accepted + f.rejected > 0 ? f.accepted / (f.accepted + f.rejected) : PRIOR_ACCEPTANCE;
    f.rounds++;
    this.figures.set(l.name, f);
  }

  private pick(maxGamma: number): Drafter | null {
    const list = this.candidates();
    if (list.length === 0) return null;
    const mark = (d: Drafter): Drafter => {
      const f = this.figures.get(d.name) ?? fresh();
      f.lastRound = this.round;
      this.figures.set(d.name, f);
      return d;
    };
    if (this.round % REVISIT_EVERY === 0) {
      const one = this.costs().secondsFor(1);
      const due = list.filter((d) => this.round % EXPENSIVE_REVISIT_EVERY === 0 || this.costRatio(d, one) < 1);
      if (due.length > 0) {
        const stale = due.reduce((a, b) => ((this.figures.get(a.name)?.lastRound ?? 0) <= (this.figures.get(b.name)?.lastRound ?? 0) ? a : b));
        return mark(stale);
      }
    }
    const scored = this.scores(maxGamma);
    let best = -1;
    for (let i = 0; i < scored.length; i++) if (best < 0 || scored[i].score > scored[best].score) best = i;
    return scored[best].score > 1 ? mark(list[best]) : null;
  }

  reset(): void {
    this.last = null;
    this.chosen = null;
  }
}

export const AUTO_KIND: DrafterKind<{ readonly kind: 'auto' }> = {
  kind: 'auto',
  usage: AUTO,
  needsModel: false,
  loadsRecommended: true,
  candidate: false,
  verified: false,
  fallback: false,
  parse: (name) => (name === AUTO ? { kind: 'auto' } : undefined),
  spec: () => ({ kind: 'auto' }),
  format: () => AUTO,
  describe: (_, words) => `whichever drafter measures fastest, round by round (candidates: ${words.candidates})`,
  make: (_, ctx) => new AutoDrafter(() => ctx.candidates(), () => ctx.costs()),
};
