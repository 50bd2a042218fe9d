/**
 * Before anything is timed: each converted model must give the same greedy token ids under llama.cpp as the ONNX
 * model under Lockstep's own model code (CausalLM, with its call rule), on held-out prompts. A conversion that
 * disagrees is refused: comparing speeds of two different models would mean nothing.
 */
import { CausalLM } from '../../src/engine/runtime/model';
import { argmaxLowestId } from '../../src/engine/decode/greedy';
import { LlamaPeer } from './llamaPeer';

/** Greedy ids of the ONNX model: prefill, then one token per call (padded by the engine's rule), stopping at stop ids. */
export async function lockstepGreedy(model: CausalLM, prompt: readonly number[], maxTokens: number, stopIds: ReadonlySet<number>, vocabLimit: number): Promise<number[]> {
  model.reset();
  let rows = await model.forward(prompt);
  const out: number[] = [];
  for (;;) {
    const t = argmaxLowestId(rows.row(rows.count - 1), vocabLimit);
    if (stopIds.has(t)) break;
    out.push(t);
    if (out.length >= maxTokens) break;
    rows = await model.forward([t]);
  }
  return out;
}

export interface ValidationRow {
  model: string;
  prompts: number;
  /** Prompts whose greedy ids are identical in both systems. */
  identical: number;
  tokens: number;
  /** Prompts compared only up to a token llama.cpp picked from the vocabulary's padding rows (ids ≥ the tokenizer's). */
  cutAtPadding?: number;
  /** The first disagreement, for the error message. */
  firstMismatch?: { prompt: number; position: number; lockstep: number; llama: number };
}

export async function validateModel(
  name: string, onnxDir: string, peer: LlamaPeer, prompts: readonly (readonly number[])[], maxTokens: number,
  stopIds: ReadonlySet<number>, vocabLimit: number, variant?: string,
): Promise<ValidationRow> {
  // `variant` names the file compared (a folder with several prefers q4 on the CPU; the GGUF is made from fp32).
  const model = await CausalLM.load(onnxDir, { threads: 1, ...(variant === undefined ? {} : { variant }) });
  const seq = await peer.sequence({ kind: 'none' });
  const row: ValidationRow = { model: name, prompts: prompts.length, identical: 0, tokens: 0 };
  try {
    for (let i = 0; i < prompts.length; i++) {
      const a = await lockstepGreedy(model, prompts[i], maxTokens, stopIds, vocabLimit);
      let b = (await seq.generate(prompts[i], { maxTokens, temperature: 0, seed: 0, stopIds })).ids;
      // llama.cpp samples over the whole output layer, Lockstep over the tokenizer's ids: a row past them (vocabulary
      // padding, 151 665 … 151 935 in Qwen's) never stands for text, but random weights can make it the argmax. The
      // texts are compared up to such a token.
      const pad = b.findIndex((t) => t >= vocabLimit);
      if (pad >= 0) {
        b = b.slice(0, pad);
        a.length = Math.min(a.length, pad);
        row.cutAtPadding = (row.cutAtPadding ?? 0) + 1;
      }
      row.tokens += a.length;
      const n = Math.max(a.length, b.length);
      let k = 0;
      while (k < n && a[k] === b[k]) k++;
      if (k === n) row.identical++;
      else row.firstMismatch ??= { prompt: i, position: k, lockstep: a[k] ?? -1, llama: b[k] ?? -1 };
    }
  } finally {
    await model.dispose();
  }
  return row;
}
