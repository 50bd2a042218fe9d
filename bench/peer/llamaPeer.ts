/**
 * llama.cpp through node-llama-cpp (a pinned devDependency with prebuilt CPU binaries), driven with token ids so
 * that both systems see the same prompt: load a GGUF, decode from a prompt with or without a token predictor, time
 * prefill (to the first token) and decode. node-llama-cpp is an ES module: loaded with import() when a run needs it.
 */
import type {
  DraftSequenceTokenPredictor, InputLookupTokenPredictor, Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token,
} from 'node-llama-cpp';

type LlamaModule = typeof import('node-llama-cpp');

let mod: Promise<LlamaModule> | null = null;
function llamaModule(): Promise<LlamaModule> {
  mod ??= import('node-llama-cpp');
  return mod;
}

let shared: Promise<Llama> | null = null;
async function llamaInstance(): Promise<Llama> {
  const m = await llamaModule();
  shared ??= m.getLlama({ gpu: false, logLevel: m.LlamaLogLevel.error, build: 'never' });
  return shared;
}

export type PeerPredictor =
  | { kind: 'none' }
  | { kind: 'draft'; minConfidence?: number; maxTokens?: number }
  | { kind: 'lookup'; patternMin?: number; predictionMax?: number };

export function predictorLabel(p: PeerPredictor): string {
  if (p.kind === 'none') return 'none';
  if (p.kind === 'draft') {
    const s = [p.minConfidence === undefined ? '' : `minConfidence ${p.minConfidence}`, p.maxTokens === undefined ? '' : `maxTokens ${p.maxTokens}`].filter(Boolean);
    return `draft model${s.length > 0 ? ` (${s.join(', ')})` : ' (defaults)'}`;
  }
  const s = [p.patternMin === undefined ? '' : `pattern ≥ ${p.patternMin}`, p.predictionMax === undefined ? '' : `predict ≤ ${p.predictionMax}`].filter(Boolean);
  return `input lookup${s.length > 0 ? ` (${s.join(', ')})` : ' (defaults)'}`;
}

export interface PeerRun {
  ids: number[];
  prefillSeconds: number;
  /** From the first generated token to the last (the first comes with the prefill). */
  decodeSeconds: number;
  validated: number;
  refuted: number;
}

export interface PeerGenerateOptions {
  maxTokens: number;
  temperature: number;
  seed: number;
  /** Token ids that end a completion (not included in `ids`). */
  stopIds: ReadonlySet<number>;
}

/** One model (the target, or a drafter) at one thread count, with a context per predictor configuration. */
export class LlamaPeer {
  private readonly contexts: LlamaContext[] = [];
  private constructor(readonly model: LlamaModel, readonly threads: number, private readonly contextSize: number) {}

  static async load(file: string, threads: number, contextSize: number): Promise<LlamaPeer> {
    const llama = await llamaInstance();
    const model = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: true });
    return new LlamaPeer(model, threads, contextSize);
  }

  /** A fresh sequence (in its own context: one sequence each) with `predictor`; `draft` is the drafter for 'draft'. */
  async sequence(predictor: PeerPredictor, draft?: LlamaPeer): Promise<PeerSequence> {
    const m = await llamaModule();
    let tokenPredictor: DraftSequenceTokenPredictor | InputLookupTokenPredictor | undefined;
    let lookup: InputLookupTokenPredictor | undefined;
    if (predictor.kind === 'draft') {
      if (!draft) throw new Error('a draft-model predictor needs the drafter');
      const draftSeq = (await draft.context()).getSequence();
      tokenPredictor = new m.DraftSequenceTokenPredictor(draftSeq, {
        ...(predictor.minConfidence === undefined ? {} : { minConfidence: predictor.minConfidence }),
        ...(predictor.maxTokens === undefined ? {} : { maxTokens: predictor.maxTokens }),
      });
    } else if (predictor.kind === 'lookup') {
      lookup = new m.InputLookupTokenPredictor({
        ...(predictor.patternMin === undefined ? {} : { patternLength: { min: predictor.patternMin } }),
        ...(predictor.predictionMax === undefined ? {} : { predictionLength: { max: predictor.predictionMax } }),
      });
      tokenPredictor = lookup;
    }
    const ctx = await this.context();
    return new PeerSequence(ctx.getSequence(tokenPredictor ? { tokenPredictor } : {}), lookup);
  }

  /**
   * Median ms of one batch decode carrying k tokens after `prefix`, each position's logits computed and a token sampled
   * from each (what verifying k drafts needs), for every k in `ks`; the k tokens are erased again after each call.
   */
  async callTimes(prefix: readonly number[], ks: readonly number[], repeats: number, tick?: () => void): Promise<Map<number, number>> {
    const seq = (await this.context()).getSequence();
    await seq.evaluateWithoutGeneratingNewTokens([...prefix] as Token[]);
    const out = new Map<number, number>();
    for (const k of ks) {
      const toks = Array.from({ length: k }, (_, i) => prefix[(i * 13 + 5) % prefix.length] as Token);
      const samples: number[] = [];
      for (let r = 0; r <= repeats; r++) {
        const t = performance.now();
        await seq.controlledEvaluate(toks.map((tok) => [tok, { generateNext: { token: true, options: { temperature: 0 } } }]));
        const ms = performance.now() - t;
        await seq.eraseContextTokenRanges([{ start: prefix.length, end: prefix.length + k }]);
        if (r > 0) samples.push(ms);
      }
      samples.sort((a, b) => a - b);
      out.set(k, samples[samples.length >> 1]);
      tick?.();
    }
    return out;
  }

  private async context(): Promise<LlamaContext> {
    const ctx = await this.model.createContext({
      contextSize: this.contextSize, threads: this.threads, sequences: 1, flashAttention: false, batchSize: this.contextSize,
      // F32 like the ONNX model's cache: the F16 default rounds K/V and changes greedy text.
      experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
    });
    this.contexts.push(ctx);
    return ctx;
  }

  async dispose(): Promise<void> {
    for (const c of this.contexts) await c.dispose();
    await this.model.dispose();
  }
}

export class PeerSequence {
  constructor(private readonly seq: LlamaContextSequence, private readonly lookup?: InputLookupTokenPredictor) {}

  /** Decodes from an empty cache: the prompt, then up to maxTokens tokens (stop ids end it). */
  async generate(prompt: readonly number[], o: PeerGenerateOptions): Promise<PeerRun> {
    await this.seq.clearHistory();
    // The input lookup predictor searches the "input" tokens it is given: here, the prompt (as LlamaCompletion does).
    this.lookup?.updateInputTokens(prompt as Token[]);
    const before = this.seq.tokenPredictions;
    const ids: number[] = [];
    const t0 = performance.now();
    let tFirst = t0;
    let tLast = t0;
    const opts = o.temperature > 0 ? { temperature: o.temperature, seed: o.seed } : { temperature: 0 };
    for await (const t of this.seq.evaluate([...prompt] as Token[], opts)) {
      const now = performance.now();
      if (ids.length === 0) tFirst = now;
      tLast = now;
      if (o.stopIds.has(t)) break;
      ids.push(t);
      if (ids.length >= o.maxTokens) break;
    }
    const after = this.seq.tokenPredictions;
    return {
      ids, prefillSeconds: (tFirst - t0) / 1000, decodeSeconds: Math.max(1e-9, (tLast - tFirst) / 1000),
      validated: after.validated - before.validated, refuted: after.refuted - before.refuted,
    };
  }
}
