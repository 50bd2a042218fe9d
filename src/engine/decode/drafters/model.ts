/**
 * A model drafter: a small ONNX model sharing the target's tokenizer, named by its catalog id or directory. Any name no
 * other kind claims is one.
 */
import type { CausalLM } from '../../runtime/model';
import type { Drafter, DrafterKind, DraftPolicy, Drafts } from './drafter';

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

export const MODEL_KIND: DrafterKind<{ readonly kind: 'model'; readonly model: string }> = {
  kind: 'model',
  usage: 'catalog id | directory',
  needsModel: true,
  loadsRecommended: false,
  candidate: true,
  verified: true,
  fallback: true,
  parse: (name) => ({ kind: 'model', model: name }),
  spec: (model) => ({ kind: 'model', model }),
  format: (s) => s.model,
  describe: (_, words) => words.title,
  make: (s, ctx) => ctx.model(s.model),
};
