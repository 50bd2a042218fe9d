/**
 * The weights of a Llama- or Qwen2-shaped decoder found in an ONNX graph read by onnxWeights.ts, by the names
 * exporters give them: named `…weight` initializers ([out, in]), `…weight_t` ones ([in, out]), or the operands of the
 * MatMul nodes a torch export leaves (`/model/layers.{i}/self_attn/q_proj/MatMul`, [in, out]). Used by the GGUF
 * converter (bench/peer) and the fused-graph exporter (fusedGraph.ts).
 */
import { OnnxWeights } from './onnxWeights';

/** The fields of a Hugging Face config.json that the converters read. */
export interface HfConfig {
  model_type?: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads?: number;
  head_dim?: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  max_position_embeddings?: number;
  tie_word_embeddings?: boolean;
  bos_token_id?: number;
  eos_token_id?: number | number[];
  pad_token_id?: number;
}

/** A projection's weight, [out][in] row-major. */
export interface Projection {
  data: Float32Array;
  out: number;
  in: number;
}

/** The projections of a layer, by their Hugging Face module path. */
export const PROJECTIONS = [
  'self_attn/q_proj', 'self_attn/k_proj', 'self_attn/v_proj', 'self_attn/o_proj', 'mlp/gate_proj', 'mlp/up_proj', 'mlp/down_proj',
] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

/** [rows][cols] row-major → [cols][rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** Weight [out][in] of layer `layer`'s projection `proj` ('self_attn/q_proj'…), or of `lm_head` (layer −1). */
export function findWeight(w: OnnxWeights, layer: number, proj: string): Projection | null {
  const dotted = proj.replace('/', '.');
  const stem = layer < 0 ? 'lm_head' : `layers.${layer}.${dotted}`;
  const named = (n: string, suffix: string) => n === `${stem}.${suffix}` || n.endsWith(`.${stem}.${suffix}`);
  for (const [name, t] of w.tensors) {
    if (t.dims.length !== 2) continue;
    if (named(name, 'weight')) return { data: t.data, out: t.dims[0], in: t.dims[1] };
    // Exports that store the MatMul operand, [in, out], under the layer's name (e.g. `…q_proj.weight_t`).
    if (named(name, 'weight_t')) return { data: transpose(t.data, t.dims[0], t.dims[1]), out: t.dims[1], in: t.dims[0] };
  }
  const node = layer < 0 ? '/lm_head/MatMul' : `/layers.${layer}/${proj}/MatMul`;
  for (const n of w.nodes) {
    if (n.opType !== 'MatMul' || !n.name.endsWith(node)) continue;
    const t = n.inputs.map((i) => w.tensors.get(i)).find((x) => x !== undefined && x.dims.length === 2);
    if (t) return { data: transpose(t.data, t.dims[0], t.dims[1]), out: t.dims[1], in: t.dims[0] };
  }
  return null;
}

/** The bias of a projection (Qwen2's q/k/v), or null. */
export function findBias(w: OnnxWeights, layer: number, proj: string): Float32Array | null {
  const stem = `layers.${layer}.${proj.replace('/', '.')}.bias`;
  for (const [name, t] of w.tensors) if ((name === stem || name.endsWith(`.${stem}`)) && t.dims.length === 1) return t.data;
  for (const n of w.nodes) {
    if (n.opType !== 'Add' || !n.name.endsWith(`/layers.${layer}/${proj}/Add`)) continue;
    const t = n.inputs.map((i) => w.tensors.get(i)).find((x) => x !== undefined && x.dims.length === 1);
    if (t) return t.data;
  }
  return null;
}

/** The initializer named `suffix` or `<prefix>.<suffix>` (a dotted boundary: `norm.weight` is not `layernorm.weight`). */
export function findNamed(w: OnnxWeights, suffix: string): Float32Array {
  for (const [name, t] of w.tensors) if (name === suffix || name.endsWith(`.${suffix}`)) return t.data;
  throw new Error(`no initializer named *${suffix}`);
}

export interface LayerWeights {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  proj: Record<ProjectionName, Projection>;
  /** q/k/v biases (Qwen2), absent for Llama. */
  bias: Partial<Record<ProjectionName, Float32Array>>;
}

export interface DecoderWeights {
  /** [vocab][hidden]. */
  embed: Float32Array;
  layers: LayerWeights[];
  norm: Float32Array;
  /** The output layer [vocab][hidden] when the graph has one of its own (else the embedding is tied). */
  head: Projection | null;
}

/** Every weight of the decoder described by `c`; throws naming the first one missing. */
export function decoderWeights(w: OnnxWeights, c: HfConfig): DecoderWeights {
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const proj = {} as Record<ProjectionName, Projection>;
    const bias: Partial<Record<ProjectionName, Float32Array>> = {};
    for (const p of PROJECTIONS) {
      const m = findWeight(w, l, p);
      if (!m) throw new Error(`layer ${l}: no weight for ${p}`);
      proj[p] = m;
      const b = findBias(w, l, p);
      if (b) bias[p] = b;
    }
    layers.push({
      inputNorm: findNamed(w, `layers.${l}.input_layernorm.weight`),
      postNorm: findNamed(w, `layers.${l}.post_attention_layernorm.weight`),
      proj,
      bias,
    });
  }
  return { embed: findNamed(w, 'embed_tokens.weight'), layers, norm: findNamed(w, 'norm.weight'), head: findWeight(w, -1, 'lm_head') };
}
