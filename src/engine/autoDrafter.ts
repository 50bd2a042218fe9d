/**
 * The `auto` drafter: each round it drafts with whichever loaded drafter (prompt lookup, a model, lookup then model)
 * is predicted to give the most tokens per unit of target time from what has been measured on this machine — its
 * acceptance, its cost per draft call relative to the target's call, and the target's cost of a call of γ + 1 tokens
 * against one (callCosts.ts) — and drafts nothing when no drafter is predicted to beat plain decoding. Choosing by
 * measurement rather than by name is safe here because every drafter gives the same text (the coupling makes the
 * output the target's own seeded sample), so switching changes only the speed.
 */
import { predictedSpeedup } from './decode';
import type { Drafter, DraftPolicy, Drafts } from './drafters';
import type { CallCosts } from './callCosts';

/** Acceptance assumed for a drafter not tried yet: optimistic, so that each is tried. */
const PRIOR_ACCEPTANCE = 0.6;
/** Every this many rounds the least recently used drafter drafts once, so that its figures stay current. */
const REVISIT_EVERY = 32;
const WEIGHT = 0.3;

interface Figures {
  alpha: number;
  rounds: number;
  lastRound: number;
}

export class AutoDrafter implements Drafter {
  readonly name = 'auto';
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
    const out = await d.draft(context, gamma, policy);
    this.last = { name: d.name, tokens: out.tokens, length: context.length, tail: context[context.length - 1] };
    return out;
  }

  /** Predicted tokens per unit of target time for each drafter (the best γ up to `maxGamma`); 1 is plain decoding. */
  scores(maxGamma: number): { name: string; score: number }[] {
    const costs = this.costs();
    const one = costs.secondsFor(1);
    return this.candidates().map((d) => {
      const f = this.figures.get(d.name);
      const alpha = f && f.rounds > 0 ? f.alpha : PRIOR_ACCEPTANCE;
      // A drafter's cost per draft call relative to a target call; free ones still widen the verification call.
      const c = d.secondsPerCall === 0 ? 0.02 : one > 0 ? d.secondsPerCall / one : 0.3;
      let score = 0;
      for (let g = 1; g <= maxGamma; g++) score = Math.max(score, predictedSpeedup(alpha, g, c, costs.ratio(g + 1)));
      return { name: d.name, score };
    });
  }

  /** The acceptance of the last round's drafts, read off the context that grew from them (the same request only). */
  private learn(context: readonly number[]): void {
    const l = this.last;
    this.last = null;
    if (!l || l.tokens.length === 0 || context.length <= l.length || context[l.length - 1] !== l.tail) return;
    let accepted = 0;
    while (accepted < l.tokens.length && l.length + accepted < context.length && context[l.length + accepted] === l.tokens[accepted]) accepted++;
    const f = this.figures.get(l.name) ?? { alpha: PRIOR_ACCEPTANCE, rounds: 0, lastRound: 0 };
    const rate = accepted / l.tokens.length;
    f.alpha = f.rounds === 0 ? rate : (1 - WEIGHT) * f.alpha + WEIGHT * rate;
    f.rounds++;
    this.figures.set(l.name, f);
  }

  private pick(maxGamma: number): Drafter | null {
    const list = this.candidates();
    if (list.length === 0) return null;
    const mark = (d: Drafter): Drafter => {
      const f = this.figures.get(d.name) ?? { alpha: PRIOR_ACCEPTANCE, rounds: 0, lastRound: 0 };
      f.lastRound = this.round;
      this.figures.set(d.name, f);
      return d;
    };
    if (this.round % REVISIT_EVERY === 0) {
      const stale = list.reduce((a, b) => ((this.figures.get(a.name)?.lastRound ?? 0) <= (this.figures.get(b.name)?.lastRound ?? 0) ? a : b));
      return mark(stale);
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
