/** Types shared across the engine's modules. */

/** Sampling settings; each model applies them to its own distribution. */
export interface SamplingSettings {
  /** 0 (and anything below GREEDY_BELOW = 1e-6, see sampling.ts) means greedy: argmax, ties to the lowest id. */
  temperature: number;
  /** Keep the k most likely tokens (ties to the lower id); 0 = off. */
  topK: number;
  /** Keep the smallest most-likely set whose mass reaches p; 1 = off. */
  topP: number;
}

/** A model's own coupled sample from its logits row at an absolute position. */
export interface TokenSampler {
  sample(logits: Float32Array, position: number): number;
}

export const DEFAULT_SAMPLING: SamplingSettings = { temperature: 0.2, topK: 0, topP: 1 };
