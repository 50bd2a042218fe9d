/**
 * The stand-in's sizes and the Hugging Face files that describe them. `0.5b` has Qwen2.5-Coder-0.5B's config numbers;
 * `ci` keeps its vocabulary, operators and file layout and shrinks the rest so tests generate it in seconds.
 */

export type SizeName = '0.5b' | 'ci';
export const SIZES: SizeName[] = ['0.5b', 'ci'];

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
}

const QWEN_0_5B: StandinShape = {
  hidden: 896, layers: 24, heads: 14, kvHeads: 2, headDim: 64, intermediate: 4864, vocab: 151936,
  maxPositions: 32768, ropeTheta: 1_000_000, rmsEps: 1e-6, drafterLayers: 2,
};

const CI: StandinShape = { ...QWEN_0_5B, hidden: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, intermediate: 128, drafterLayers: 1 };

export function shapeOf(size: SizeName): StandinShape {
  return size === 'ci' ? { ...CI } : { ...QWEN_0_5B };
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
