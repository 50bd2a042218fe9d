/**
 * Drafters propose the next tokens; the target decides. For the coupled (drafter-invariant) loops a model drafter
 * samples each draft with the same public randomness as the target at that absolute position, with its own logits
 * and its own sampling settings. Whatever a drafter proposes, the emitted text is the target's own seeded sample.
 */
import { CausalLM } from '../runtime/model';
import { TokenSampler } from './types';

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

/** Proposes nothing: plain autoregressive decoding of the target. */
export class NoDrafter implements Drafter {
  readonly name = 'none';
  readonly secondsPerCall = 0;
  async draft(): Promise<Drafts> {
    return { tokens: [], calls: 0 };
  }
  reset(): void {}
}

/**
 * Prompt lookup (Saxena 2023; "prompt lookup decoding"): find the most recent earlier occurrence of the last n
 * tokens of the context (n from maxNgram down to minNgram) and propose what followed it. Free, and strong on code,
 * which repeats identifiers and whole lines.
 */
export class PromptLookupDrafter implements Drafter {
  readonly name = 'prompt-lookup';
  readonly secondsPerCall = 0;
  constructor(
    private readonly maxNgram = 4,
    private readonly minNgram = 2,
  ) {}

  async draft(context: readonly number[], gamma: number): Promise<Drafts> {
    const n = context.length;
    for (let g = Math.min(this.maxNgram, n - 1); g >= this.minNgram; g--) {
      // most recent match first: nearby code is the best predictor
      for (let start = n - g - 1; start >= 0; start--) {
        let match = true;
        for (let k = 0; k < g; k++) {
          if (context[start + k] !== context[n - g + k]) {
            match = false;
            break;
          }
        }
        if (!match) continue;
        const from = start + g;
        const tokens = context.slice(from, Math.min(n, from + gamma));
        if (tokens.length > 0) return { tokens, calls: 0 };
      }
    }
    return { tokens: [], calls: 0 };
  }
  reset(): void {}
}

/** A small ONNX model sharing the target's tokenizer. */
export class ModelDrafter implements Drafter {
  private fed: number[] = [];
  private probRows: Float32Array[] = [];
  private seconds = 0;
  private calls = 0;

  constructor(
    readonly name: string,
    readonly model: CausalLM,
    private readonly prefillChunk = 256,
  ) {}

  get secondsPerCall(): number {
    return this.calls > 0 ? this.seconds / this.calls : 0;
  }

  async draft(context: readonly number[], gamma: number, policy: DraftPolicy): Promise<Drafts> {
    const out: number[] = [];
    const maxPos = this.model.config.maxPositions;
    gamma = Math.min(gamma, maxPos - context.length);
    if (gamma <= 0) return { tokens: out, calls: 0 };
    const t0 = performance.now();
    let calls = 0;
    // Reuse the cache for the longest common prefix; feed the rest.
    let common = 0;
    const lim = Math.min(this.fed.length, context.length - 1);
    while (common < lim && this.fed[common] === context[common]) common++;
    await this.model.truncate(common);
    this.fed.length = common;
    let pending = context.slice(common);
    while (pending.length > this.prefillChunk) {
      await this.model.prefill(pending.slice(0, this.prefillChunk));
      this.fed.push(...pending.slice(0, this.prefillChunk));
      pending = pending.slice(this.prefillChunk);
      calls++;
    }
    if (policy.dense) {
      while (this.probRows.length < gamma) this.probRows.push(new Float32Array(0));
    }
    for (let k = 0; k < gamma; k++) {
      const rows = await this.model.forward(pending);
      calls++;
      this.fed.push(...pending);
      const logits = rows.row(rows.count - 1);
      const position = context.length + k;
      let token: number;
      if (policy.dense) {
        if (this.probRows[k].length < logits.length) this.probRows[k] = new Float32Array(logits.length);
        token = policy.dense(logits, position, this.probRows[k]);
      } else {
        token = policy.sampler.sample(logits, position);
      }
      out.push(token);
      pending = [token];
    }
    this.seconds += (performance.now() - t0) / 1000;
    this.calls += calls;
    return { tokens: out, probs: policy.dense ? this.probRows.slice(0, gamma) : undefined, calls };
  }

  reset(): void {
    this.model.reset();
    this.fed = [];
  }
}

/** Prompt lookup when the context offers a match, the model drafter otherwise ("lookup+model"). */
export class LookupThenModelDrafter implements Drafter {
  readonly name: string;
  private readonly lookup = new PromptLookupDrafter();
  constructor(private readonly model: ModelDrafter) {
    this.name = `prompt-lookup+${model.name}`;
  }
  get secondsPerCall(): number {
    return this.model.secondsPerCall;
  }
  async draft(context: readonly number[], gamma: number, policy: DraftPolicy): Promise<Drafts> {
    const found = await this.lookup.draft(context, gamma);
    return found.tokens.length > 0 ? found : this.model.draft(context, gamma, policy);
  }
  reset(): void {
    this.model.reset();
  }
}
