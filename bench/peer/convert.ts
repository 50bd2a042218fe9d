/**
 * A model folder in the Hugging Face ONNX layout → GGUF v3 for llama.cpp: weights from the ONNX initializers (the
 * MatMul operands a torch export leaves, [in, out]; or named `…weight` initializers, [out, in]), llama.cpp's tensor
 * names, hyper-parameters from config.json, and the byte-level BPE vocabulary, merges and special tokens from
 * tokenizer.json. Architectures: `llama` (Q and K rows permuted: llama.cpp's llama rotates interleaved pairs, Hugging
 * Face rotates halves) and `qwen2` (rotates halves like Hugging Face, no permutation; q/k/v biases).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findOnnxFile } from '../../src/engine/runtime/modelDir';
import { GgufTensor, GgufValue, TensorType, writeGguf } from './gguf';
import { HfConfig, findBias, findNamed, findWeight } from '../../src/onnx/llamaWeights';
import { OnnxWeights, readOnnxWeights } from '../../src/onnx/onnxWeights';

export type { HfConfig } from '../../src/onnx/llamaWeights';

export type GgufArch = 'llama' | 'qwen2';

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

/** Where one projection's weight (and bias) sits in the ONNX graph, by the node or initializer names exporters use. */
const PROJ: Record<string, string> = {
  'self_attn/q_proj': 'attn_q', 'self_attn/k_proj': 'attn_k', 'self_attn/v_proj': 'attn_v', 'self_attn/o_proj': 'attn_output',
  'mlp/gate_proj': 'ffn_gate', 'mlp/up_proj': 'ffn_up', 'mlp/down_proj': 'ffn_down',
};

/**
 * Reorders the output rows of a Q or K weight [heads·d][in] (or bias [heads·d]) from rotate-half pairs (j, j + d/2)
 * to adjacent pairs (2j, 2j + 1), which is what llama.cpp's llama RoPE rotates.
 */
export function permuteRope(w: Float32Array, heads: number, cols: number): Float32Array {
  const d = w.length / cols / heads;
  const half = d / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const from = (h * d + s * half + i) * cols;
        const to = (h * d + 2 * i + s) * cols;
        out.set(w.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/** The GGUF tensors of a model, weights in F32 or a 4-bit type (norms and biases stay F32). */
export function ggufTensors(w: OnnxWeights, c: HfConfig, arch: GgufArch, type: TensorType = 'f32'): GgufTensor[] {
  const heads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? heads;
  const quant = (t: GgufTensor): GgufTensor => ({ ...t, type: t.dims.length === 2 ? type : 'f32' });
  const tensors: GgufTensor[] = [];
  const embed = findNamed(w, 'embed_tokens.weight');
  tensors.push(quant({ name: 'token_embd.weight', dims: [c.hidden_size, c.vocab_size], type: 'f32', data: embed }));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    tensors.push({ name: `blk.${l}.attn_norm.weight`, dims: [c.hidden_size], type: 'f32', data: findNamed(w, `layers.${l}.input_layernorm.weight`) });
    tensors.push({ name: `blk.${l}.ffn_norm.weight`, dims: [c.hidden_size], type: 'f32', data: findNamed(w, `layers.${l}.post_attention_layernorm.weight`) });
    for (const [proj, gg] of Object.entries(PROJ)) {
      const m = findWeight(w, l, proj);
      if (!m) throw new Error(`layer ${l}: no weight for ${proj}`);
      let data = m.data;
      const ropeHeads = gg === 'attn_q' ? heads : gg === 'attn_k' ? kvHeads : 0;
      if (arch === 'llama' && ropeHeads > 0) data = permuteRope(data, ropeHeads, m.in);
      tensors.push(quant({ name: `blk.${l}.${gg}.weight`, dims: [m.in, m.out], type: 'f32', data }));
      const bias = findBias(w, l, proj);
      if (bias) {
        const b = arch === 'llama' && ropeHeads > 0 ? permuteRope(bias, ropeHeads, 1) : bias;
        tensors.push({ name: `blk.${l}.${gg}.bias`, dims: [m.out], type: 'f32', data: b });
      }
    }
  }
  tensors.push({ name: 'output_norm.weight', dims: [c.hidden_size], type: 'f32', data: findNamed(w, 'norm.weight') });
  const head = findWeight(w, -1, 'lm_head');
  if (head) tensors.push(quant({ name: 'output.weight', dims: [head.in, head.out], type: 'f32', data: head.data }));
  return tensors;
}

/** Vocabulary, merges and token types (control for added special tokens) in llama.cpp's `gpt2` tokenizer keys. */
export function tokenizerKv(tok: TokenizerJson, c: HfConfig, pre: string): [string, GgufValue][] {
  if (tok.model.type !== 'BPE') throw new Error(`tokenizer model ${tok.model.type}: only byte-level BPE is converted`);
  const tokens: string[] = new Array(c.vocab_size);
  const types = new Int32Array(c.vocab_size).fill(1);
  for (const [s, id] of Object.entries(tok.model.vocab)) if (id < c.vocab_size) tokens[id] = s;
  for (const a of tok.added_tokens ?? []) {
    if (a.id >= c.vocab_size) continue;
    tokens[a.id] = a.content;
    types[a.id] = a.special === false ? 4 : 3;
  }
  // Rows of the embedding no token uses (padding of the vocabulary) get unique unused names.
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = 5;
    }
  }
  const merges = tok.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  const eos = Array.isArray(c.eos_token_id) ? c.eos_token_id[0] : c.eos_token_id;
  const kv: [string, GgufValue][] = [
    ['tokenizer.ggml.model', { type: 'str', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'str', value: pre }],
    ['tokenizer.ggml.tokens', { type: 'arr-str', value: tokens }],
    ['tokenizer.ggml.token_type', { type: 'arr-i32', value: types }],
    ['tokenizer.ggml.merges', { type: 'arr-str', value: merges }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ];
  if (eos !== undefined) kv.push(['tokenizer.ggml.eos_token_id', { type: 'u32', value: eos }]);
  if (c.bos_token_id !== undefined && c.bos_token_id !== null) kv.push(['tokenizer.ggml.bos_token_id', { type: 'u32', value: c.bos_token_id }]);
  if (c.pad_token_id !== undefined && c.pad_token_id !== null) kv.push(['tokenizer.ggml.padding_token_id', { type: 'u32', value: c.pad_token_id }]);
  return kv;
}

export function archOf(c: HfConfig): GgufArch {
  if (c.model_type === 'qwen2') return 'qwen2';
  if (c.model_type === 'llama' || c.model_type === undefined) return 'llama';
  throw new Error(`model_type ${c.model_type}: only llama and qwen2 are converted`);
}

export interface ConvertResult {
  file: string;
  arch: GgufArch;
  tensors: number;
  bytes: number;
}

/** Converts the model folder `dir` (fp32 onnx/model.onnx) to `file`. */
export function convertToGguf(dir: string, file: string, type: TensorType = 'f32'): ConvertResult {
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as HfConfig;
  const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const arch = archOf(c);
  const w = readOnnxWeights(findOnnxFile(dir, 'fp32'));
  const tensors = ggufTensors(w, c, arch, type);
  const heads = c.num_attention_heads;
  const headDim = c.head_dim ?? c.hidden_size / heads;
  const a = (k: string) => `${arch}.${k}`;
  const kv: [string, GgufValue][] = [
    ['general.architecture', { type: 'str', value: arch }],
    ['general.name', { type: 'str', value: path.basename(dir) }],
    ['general.alignment', { type: 'u32', value: 32 }],
    ['general.file_type', { type: 'u32', value: type === 'f32' ? 0 : 2 }],
    [a('context_length'), { type: 'u32', value: c.max_position_embeddings ?? 2048 }],
    [a('embedding_length'), { type: 'u32', value: c.hidden_size }],
    [a('block_count'), { type: 'u32', value: c.num_hidden_layers }],
    [a('feed_forward_length'), { type: 'u32', value: c.intermediate_size }],
    [a('attention.head_count'), { type: 'u32', value: heads }],
    [a('attention.head_count_kv'), { type: 'u32', value: c.num_key_value_heads ?? heads }],
    [a('attention.key_length'), { type: 'u32', value: headDim }],
    [a('attention.value_length'), { type: 'u32', value: headDim }],
    [a('rope.dimension_count'), { type: 'u32', value: headDim }],
    [a('rope.freq_base'), { type: 'f32', value: c.rope_theta ?? 10000 }],
    [a('attention.layer_norm_rms_epsilon'), { type: 'f32', value: c.rms_norm_eps ?? 1e-6 }],
    [a('vocab_size'), { type: 'u32', value: c.vocab_size }],
    ...tokenizerKv(tok, c, arch === 'qwen2' ? 'qwen2' : 'gpt-2'),
  ];
  writeGguf(file, kv, tensors);
  return { file, arch, tensors: tensors.length, bytes: fs.statSync(file).size };
}
