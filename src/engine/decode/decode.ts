/**
 * The decode loops: prompt tokens → draft → verify → commit, one round at a time.
 *
 * Coupled speculative decoding (Daliri, Musco & Suresh 2024, "drafter-invariant speculative decoding"):
 * the drafter drafts with its own logits and the public randomness of each absolute position; the target scores
 * [last committed token, d_1 … d_γ] in one call, takes its own coupled sample y_i at each position, accepts while
 * y_i = d_i, and at the first mismatch emits y_i (or the bonus y_γ when all are accepted). Every emitted token is
 * the target's own seeded sample at that position given a prefix of the same kind, so the text depends only on
 * (target, prompt, seed, settings) — never on the drafter. With no drafter the same loop is plain autoregressive
 * decoding (each call then carries one real token, padded for exactness by the model wrapper).
 *
 * Standard speculative sampling (Leviathan et al. 2023; Chen et al. 2023) is the non-invariant reference: accept
 * d with probability min(1, p(d)/q(d)), on rejection sample norm(max(0, p − q)); its randomness is its own.
 * Which coupling runs is the request's: the loop sees only its draft policy and its target chooser
 * (couplings/coupling.ts).
 */
import { Drafter, Drafts } from './drafters/drafter';
import { CausalLM } from '../runtime/model';
import { SamplingSettings } from './types';
import { CouplingKind, couplingSpec } from './couplings/registry';

/** Decides after each emitted token whether generation ends (stop tokens, max tokens, line/block rules). */
export interface TokenSink {
  /** Returns true when generation must stop now. */
  push(token: number): boolean;
}

export interface CancelSignal {
  readonly cancelled: boolean;
  /**
   * Awaited between model calls, before `cancelled` is read. onnxruntime's run() blocks its thread, so an engine
   * process gets its messages (a cancellation, a newer request) only when the loop yields here.
   */
  checkpoint?(): Promise<void>;
}

/** Yields to the signal's host, then tells whether the request was cancelled. */
export async function stopRequested(signal: CancelSignal | undefined): Promise<boolean> {
  if (!signal) return false;
  if (signal.checkpoint) await signal.checkpoint();
  return signal.cancelled;
}

export interface GenerateOptions {
  prompt: readonly number[];
  coupling: CouplingKind;
  /** The target's sampling settings. */
  sampling: SamplingSettings;
  /** The drafter's own settings (defaults to the target's). */
  draftSampling?: SamplingSettings;
  seed: number;
  /** Drafts per round, or 'auto' (chosen each round from measured acceptance and cost). */
  gamma: number | 'auto';
  maxGamma?: number;
  /** Hard cap on emitted tokens (the sink usually stops earlier). */
  maxTokens: number;
  sink: TokenSink;
  /** Only ids below this are ever sampled (logits rows may be wider than the tokenizer's vocabulary). */
  vocabLimit: number;
  signal?: CancelSignal;
  /** Tokens per prefill call for long prompts. */
  prefillChunk?: number;
}

export interface GenerateStats {
  tokens: number[];
  targetCalls: number;
  drafterCalls: number;
  rounds: number;
  drafted: number;
  accepted: number;
  /** Seconds inside the target's / drafter's session.run, and in total. */
  targetSeconds: number;
  drafterSeconds: number;
  seconds: number;
  prefillSeconds: number;
  cancelled: boolean;
  gammaHistory: number[];
}

/** Tracks which tokens a target's KV cache holds, so a new prompt reuses the longest common prefix. */
export class TargetState {
  fed: number[] = [];
  /** reusePrefix false: every prompt is fed from position 0, so its calls depend on the prompt alone (inexact targets). */
  constructor(readonly model: CausalLM, readonly reusePrefix = true) {}

  /**
   * Makes the cache hold exactly `tokens` (reusing the common prefix). Returns the number of calls made, or -1 when
   * `signal` cancelled it between two chunks (the cache then holds a prefix of `tokens`, and `fed` says which).
   */
  async sync(tokens: readonly number[], chunk: number, signal?: CancelSignal): Promise<number> {
    let common = 0;
    const lim = Math.min(this.fed.length, tokens.length);
    while (this.reusePrefix && common < lim && this.fed[common] === tokens[common]) common++;
    await this.model.truncate(common);
    this.fed.length = common;
    let calls = 0;
    for (let p = common; p < tokens.length; p += chunk) {
      if (await stopRequested(signal)) return -1;
      const part = tokens.slice(p, Math.min(tokens.length, p + chunk));
      await this.model.prefill(part);
      this.fed.push(...part);
      calls++;
    }
    return calls;
  }

  reset(): void {
    this.model.reset();
    this.fed = [];
  }
}

/**
 * Leviathan et al.'s expected tokens per unit of target time, (1 − α^{γ+1}) / ((1 − α)(γc + T(γ+1)/T(1))): γ drafts
 * at c target-calls each, then one verification call of γ + 1 tokens, which at the real size costs more than a call
 * of one but far less than γ + 1 of them (`verifyRatio`, measured: callCosts.ts; 1 when unknown).
 */
export function predictedSpeedup(alpha: number, gamma: number, costRatio: number, verifyRatio = 1): number {
  const a = Math.min(Math.max(alpha, 0), 0.999999);
  return (1 - a ** (gamma + 1)) / ((1 - a) * (gamma * costRatio + verifyRatio));
}

/** T(k)/T(1) of the target's calls, by k (CallCosts.ratio). */
export type VerifyCost = (tokens: number) => number;

/** Adaptive γ: the γ in [1, max] that maximises the predicted speedup for the acceptance seen so far. */
export function chooseGamma(alpha: number, costRatio: number, maxGamma: number, verify: VerifyCost = () => 1): number {
  let best = 1;
  let bestValue = -1;
  for (let g = 1; g <= maxGamma; g++) {
    const v = predictedSpeedup(alpha, g, costRatio, verify(g + 1));
    if (v > bestValue + 1e-9) {
      bestValue = v;
      best = g;
    }
  }
  return best;
}

export async function generate(target: TargetState, drafter: Drafter, opts: GenerateOptions): Promise<GenerateStats> {
  const t0 = performance.now();
  const model = target.model;
  const run0 = model.runSeconds;
  const calls0 = model.calls;
  const stats: GenerateStats = {
    tokens: [], targetCalls: 0, drafterCalls: 0, rounds: 0, drafted: 0, accepted: 0, targetSeconds: 0,
    drafterSeconds: 0, seconds: 0, prefillSeconds: 0, cancelled: false, gammaHistory: [],
  };
  if (opts.prompt.length === 0) throw new Error('empty prompt');
  const maxPos = model.config.maxPositions;
  const context: number[] = opts.prompt.slice();
  // The target's cache holds every committed token but the last, which leads the next verification call; that way
  // every verification call carries ≥ 2 tokens whenever there is at least one draft.
  // A request cancelled while it waited, or between prefill chunks, costs no more model calls.
  if ((await target.sync(context.slice(0, -1), opts.prefillChunk ?? 256, opts.signal)) < 0) {
    return finish(stats, model, drafter, t0, run0, calls0, true);
  }
  stats.prefillSeconds = (performance.now() - t0) / 1000;

  const draftSettings = opts.draftSampling ?? opts.sampling;
  const coupling = couplingSpec(opts.coupling).make(opts.sampling, draftSettings, opts.seed, opts.vocabLimit);
  const policy = coupling.draft;
  const chooser = coupling.target;

  const maxGamma = opts.maxGamma ?? 8;
  let alpha = 0.6; // prior acceptance for 'auto'; updated per round
  let targetCallSeconds = 0;
  let done = false;
  while (!done) {
    if (await stopRequested(opts.signal)) {
      stats.cancelled = true;
      break;
    }
    const n = context.length;
    const room = Math.min(maxPos - n, opts.maxTokens - stats.tokens.length);
    if (room <= 0) break;
    let gamma = opts.gamma === 'auto' ? chooseGamma(alpha, costRatio(drafter, model.callCosts.secondsFor(1) || targetCallSeconds), maxGamma, (k) => model.callCosts.ratio(k)) : opts.gamma;
    gamma = Math.max(0, Math.min(gamma, room - 1));
    const drafts: Drafts = drafter.name === 'none' || gamma === 0 ? { tokens: [], calls: 0 } : await drafter.draft(context, gamma, policy);
    stats.drafterCalls += drafts.calls;
    stats.gammaHistory.push(gamma);
    if (drafts.calls > 0 && (await stopRequested(opts.signal))) {
      stats.cancelled = true;
      break;
    }
    const k = drafts.tokens.length;
    const tc = performance.now();
    const rows = await model.forward([context[n - 1], ...drafts.tokens]);
    targetCallSeconds = targetCallSeconds === 0 ? (performance.now() - tc) / 1000 : 0.8 * targetCallSeconds + 0.2 * ((performance.now() - tc) / 1000);
    target.fed.push(context[n - 1], ...drafts.tokens);
    stats.rounds++;
    stats.drafted += k;
    let accepted = 0;
    for (let i = 0; i <= k; i++) {
      const pos = n + i;
      const drafted = i < k;
      const y = chooser.choose(rows.row(i), pos, drafted ? drafts.tokens[i] : -1, drafted ? drafts.probs?.[i] : undefined);
      const accept = drafted && chooser.accepted;
      if (accept) accepted++;
      context.push(y);
      stats.tokens.push(y);
      if (opts.sink.push(y) || stats.tokens.length >= opts.maxTokens) {
        done = true;
        break;
      }
      if (!accept) break;
    }
    stats.accepted += accepted;
    if (k > 0) alpha = 0.7 * alpha + 0.3 * (accepted / k);
    // Keep the K/V of the lead token and the accepted drafts; the last emitted token leads the next round.
    const keep = n + accepted;
    if (target.fed.length > keep) {
      await model.truncate(keep);
      target.fed.length = keep;
    }
  }
  return finish(stats, model, drafter, t0, run0, calls0, stats.cancelled);
}

function finish(
  stats: GenerateStats, model: CausalLM, drafter: Drafter, t0: number, run0: number, calls0: number, cancelled: boolean,
): GenerateStats {
  stats.cancelled = cancelled;
  stats.targetCalls = model.calls - calls0;
  stats.targetSeconds = model.runSeconds - run0;
  stats.drafterSeconds = drafter.secondsPerCall * stats.drafterCalls;
  stats.seconds = (performance.now() - t0) / 1000;
  return stats;
}

function costRatio(drafter: Drafter, targetCallSeconds: number): number {
  if (targetCallSeconds <= 0) return drafter.secondsPerCall > 0 ? 0.3 : 0.02;
  // a floor: even free drafts widen the verification call
  return Math.max(0.02, drafter.secondsPerCall / targetCallSeconds);
}
