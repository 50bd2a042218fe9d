/**
 * The stand-in's sizes and the Hugging Face files that describe them. `0.5b`, `1.5b` and `3b` have Qwen2.5-Coder's
 * config numbers (the catalog's models); `ci` keeps their vocabulary, operators and file layout and shrinks the rest
 * so tests generate it in seconds.
 */

export type SizeName = '0.5b' | '1.5b' | '3b' | 'ci';
export const SIZES: SizeName[] = ['0.5b', '1.5b', '3b', 'ci'];

export interface StandinShape {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  maxPositions: number;
  ropeTheta: number;
  rmsEps: number;
  /** The drafter's layers: the target's first ones, then its final norm and tied head (early exit). */
  drafterLayers: number;
  /**
   * Whether the files store the tied head as its own transposed copy (quantized in q4/int8 files), as onnx-community's
   * 0.5B (fp32 2.5 GB = 494M parameters + a second 136M embedding) and 3B (q4 3.19 GB) files do; its 1.5B files
   * store the embedding once (fp32 6.2 GB, q4 1.79 GB) and the head multiplies by its transpose, unquantized.
   */
  headCopy: boolean;
}

const QWEN_0_5B: StandinShape = {
  hidden: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, intermediate: 4864, vocab: 151936,
  maxPositions: 32768, ropeTheta: 1_000_000, rmsEps: 1e-6, drafterLayers: 2, headCopy: true,
};

const SHAPES: Record<SizeName, StandinShape> = {
  '0.5b': QWEN_0_5B,
  '1.5b': { ...QWEN_0_5B, hidden: 1536, layers: 28, heads: 12, headDim: 128, intermediate: 8960, headCopy: false },
  '3b': { ...QWEN_0_5B, hidden: 2048, layers: 36, heads: 16, headDim: 128, intermediate: 11008 },
  ci: { ...QWEN_0_5B, hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, intermediate: 128, drafterLayers: 1 },
};

export function shapeOf(size: SizeName): StandinShape {
  return { ...SHAPES[size] };
}

export const BOS_ID = 151643;
export const EOS_ID = 151643;

/** config.json as Qwen2.5-Coder's, with transformers.js's note that the fp16 files keep their KV cache in float16. */
export function configJson(s: StandinShape, layers: number, note: string): Record<string, unknown> {
  return {
    _comment: note,
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    hidden_act: 'silu',
    hidden_size: s.hidden,
    initializer_range: 0.02,
    intermediate_size: s.intermediate,
    max_position_embeddings: s.maxPositions,
    max_window_layers: layers,
    model_type: 'qwen2',
    num_attention_heads: s.heads,
    num_hidden_layers: layers,
    num_key_value_heads: s.kvHeads,
    rms_norm_eps: s.rmsEps,
    rope_scaling: null,
    rope_theta: s.ropeTheta,
    sliding_window: s.maxPositions,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.45.2',
    use_cache: true,
    use_sliding_window: false,
    vocab_size: s.vocab,
    'transformers.js_config': { kv_cache_dtype: { q4f16: 'float16', fp16: 'float16' } },
  };
}

export function generationConfigJson(): Record<string, unknown> {
  return { bos_token_id: BOS_ID, eos_token_id: EOS_ID, max_new_tokens: 2048, transformers_version: '4.45.2' };
}
