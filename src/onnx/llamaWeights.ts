/**
 * The weights of a Llama- or Qwen2-shaped decoder found in an ONNX graph read by onnxWeights.ts, by the names
 * exporters give them: named `…weight` initializers ([out, in]), `…weight_t` ones ([in, out]), or the operands of the
 * MatMul nodes a torch export leaves (`/model/layers.{i}/self_attn/q_proj/MatMul`, [in, out]). The locate* functions
 * name the initializer (for the streaming reader, decoderSource.ts); the find* ones return its data (for the GGUF
 * converter in bench/peer, which reads a whole fp32 file).
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

/** What the finders below need of a graph: its initializers' shapes by name, and its nodes (OnnxWeights and OnnxIndex). */
export interface TensorTable {
  tensors: Map<string, { dims: number[] }>;
  nodes: readonly { opType: string; name: string; inputs: string[] }[];
}

/** Where a projection's weight is: an initializer stored [out][in] (`inOut` false) or as the MatMul operand [in][out]. */
export interface WeightLocation {
  name: string;
  out: number;
  in: number;
  inOut: boolean;
}

/** Layer `layer`'s projection `proj` ('self_attn/q_proj'…), or `lm_head` (layer −1), as a float initializer. */
export function locateWeight(w: TensorTable, layer: number, proj: string): WeightLocation | null {
  const dotted = proj.replace('/', '.');
  const stem = layer < 0 ? 'lm_head' : `layers.${layer}.${dotted}`;
  const named = (n: string, suffix: string) => n === `${stem}.${suffix}` || n.endsWith(`.${stem}.${suffix}`);
  for (const [name, t] of w.tensors) {
    if (t.dims.length !== 2) continue;
    if (named(name, 'weight')) return { name, out: t.dims[0], in: t.dims[1], inOut: false };
    // Exports that store the MatMul operand, [in, out], under the layer's name (e.g. `…q_proj.weight_t`).
    if (named(name, 'weight_t')) return { name, out: t.dims[1], in: t.dims[0], inOut: true };
  }
  const node = layer < 0 ? '/lm_head/MatMul' : `/layers.${layer}/${proj}/MatMul`;
  for (const n of w.nodes) {
    if (n.opType !== 'MatMul' || !n.name.endsWith(node)) continue;
    const name = n.inputs.find((i) => w.tensors.get(i)?.dims.length === 2);
    if (name !== undefined) {
      const dims = w.tensors.get(name)!.dims;
      return { name, out: dims[1], in: dims[0], inOut: true };
    }
  }
  return null;
}

/** The name of a projection's bias initializer (Qwen2's q/k/v), or null. */
export function locateBias(w: TensorTable, layer: number, proj: string): string | null {
  const stem = `layers.${layer}.${proj.replace('/', '.')}.bias`;
  for (const [name, t] of w.tensors) if ((name === stem || name.endsWith(`.${stem}`)) && t.dims.length === 1) return name;
  for (const n of w.nodes) {
    if (n.opType !== 'Add' || !n.name.endsWith(`/layers.${layer}/${proj}/Add`)) continue;
    const name = n.inputs.find((i) => w.tensors.get(i)?.dims.length === 1);
    if (name !== undefined) return name;
  }
  return null;
}

/** The initializer named `suffix` or `<prefix>.<suffix>` (a dotted boundary: `norm.weight` is not `layernorm.weight`). */
export function locateNamed(w: TensorTable, suffix: string): string {
  for (const name of w.tensors.keys()) if (name === suffix || name.endsWith(`.${suffix}`)) return name;
  throw new Error(`no initializer named *${suffix}`);
}

/** Weight [out][in] of layer `layer`'s projection `proj` ('self_attn/q_proj'…), or of `lm_head` (layer −1). */
export function findWeight(w: OnnxWeights, layer: number, proj: string): Projection | null {
  const at = locateWeight(w, layer, proj);
  if (!at) return null;
  const data = w.tensors.get(at.name)!.data;
  return { data: at.inOut ? transpose(data, at.in, at.out) : data, out: at.out, in: at.in };
}

/** The bias of a projection (Qwen2's q/k/v), or null. */
export function findBias(w: OnnxWeights, layer: number, proj: string): Float32Array | null {
  const name = locateBias(w, layer, proj);
  return name === null ? null : w.tensors.get(name)!.data;
}

/** The initializer named `suffix` or `<prefix>.<suffix>`. */
export function findNamed(w: OnnxWeights, suffix: string): Float32Array {
  return w.tensors.get(locateNamed(w, suffix))!.data;
}
