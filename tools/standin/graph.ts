/**
 * The stand-in's ONNX graph, laid out like an Optimum export of Qwen2 (what onnx-community publishes): inputs
 * input_ids, attention_mask, position_ids, past_key_values.{i}.key|value → logits, present.{i}.key|value; rotary
 * positions computed from position_ids (rotate-half, as Hugging Face's Qwen2); the causal mask built in the graph
 * from attention_mask and the past length; grouped-query attention by repeating K/V heads; the tied head stored as
 * its own transposed copy of the embedding, as the exported files do. Per variant:
 *   fp32, fp16   MatMul on float weights (fp16: float16 activations, weights and KV cache; rotary angles in float32)
 *   q4, q4f16    com.microsoft MatMulNBits (4 bits, block 32, symmetric) for every linear layer and the head
 *   int8         DynamicQuantizeLinear + MatMulInteger + scale Mul (onnxruntime's dynamic quantization), and the
 *                embedding stored as int8 behind a DequantizeLinear
 */
import { toFloat16 } from '../../src/onnx/float16';
import { Initializer, ModelSpec, NodeSpec, TensorType, ValueInfo, lazyOf } from '../../src/onnx/onnxModel';
import { LazyBytes } from '../../src/onnx/protoWriter';
import { Q4Weights, quantizeInt8, quantizeQ4 } from '../../src/onnx/quantize';
import { StandinShape } from './config';

export type Variant = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'int8';
export const VARIANTS: Variant[] = ['fp32', 'fp16', 'q4', 'q4f16', 'int8'];
export const Q4_BLOCK = 32;

export interface GraphOptions {
  variant: Variant;
  layers: number;
  /** MatMulNBits accuracy_level (absent = not written, onnxruntime's default 0). */
  accuracyLevel?: number;
}

/** Weights by name (made again each time they are asked for). */
export type WeightSource = (name: string) => Float32Array;

const bytesOf = (a: Float32Array | Uint16Array | Int8Array | Uint8Array | BigInt64Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function buildGraph(s: StandinShape, opts: GraphOptions, w: WeightSource): ModelSpec {
  return new GraphBuilder(s, opts, w).build();
}

class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: Initializer[] = [];
  private readonly act: 'float32' | 'float16';
  private count = 0;

  constructor(private readonly s: StandinShape, private readonly o: GraphOptions, private readonly w: WeightSource) {
    this.act = o.variant === 'fp16' || o.variant === 'q4f16' ? 'float16' : 'float32';
  }

  build(): ModelSpec {
    const { s, act } = this;
    const kvDims = (len: string) => ['batch_size', s.kvHeads, len, s.headDim];
    const inputs: ValueInfo[] = [
      { name: 'input_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', type: 'int64', dims: ['batch_size', 'total_sequence_length'] },
      { name: 'position_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
    ];
    const outputs: ValueInfo[] = [{ name: 'logits', type: act, dims: ['batch_size', 'sequence_length', s.vocab] }];
    for (let l = 0; l < this.o.layers; l++) {
      for (const kind of ['key', 'value']) {
        inputs.push({ name: `past_key_values.${l}.${kind}`, type: act, dims: kvDims('past_sequence_length') });
        outputs.push({ name: `present.${l}.${kind}`, type: act, dims: kvDims('total_sequence_length') });
      }
    }
    let h = this.embed();
    const { cos, sin } = this.rotary();
    let mask: string | undefined;
    for (let l = 0; l < this.o.layers; l++) {
      const p = `model.layers.${l}`;
      const normed = this.rmsNorm(h, `${p}.input_layernorm.weight`);
      const attn = this.attention(normed, l, cos, sin, () => (mask ??= this.causalMask(`present.0.key`)));
      h = this.op('Add', [h, attn]);
      const normed2 = this.rmsNorm(h, `${p}.post_attention_layernorm.weight`);
      h = this.op('Add', [h, this.mlp(normed2, p)]);
    }
    const last = this.rmsNorm(h, 'model.norm.weight');
    this.linear(last, 'lm_head', s.hidden, s.vocab, undefined, 'logits');
    const opsets = [{ domain: '', version: 17 }];
    if (this.o.variant === 'q4' || this.o.variant === 'q4f16') opsets.push({ domain: 'com.microsoft', version: 1 });
    return { graphName: 'main_graph', producer: 'lockstep-standin', opsets, inputs, outputs, nodes: this.nodes, initializers: this.inits };
  }

  private embed(): string {
    const { s } = this;
    const name = 'model.embed_tokens.weight';
    if (this.o.variant === 'int8') {
      const q = quantizedOnce(() => quantizeInt8(this.w(name)), (x) => x.scale);
      this.init(`${name}_quantized`, 'int8', [s.vocab, s.hidden], { length: s.vocab * s.hidden, make: () => bytesOf(q.take().values) });
      const scale = this.constF32(`${name}_scale`, [], () => Float32Array.of(q.peek()));
      const zero = this.constTyped(`${name}_zero_point`, 'int8', [], new Int8Array(1));
      const gathered = this.op('Gather', [`${name}_quantized`, 'input_ids'], { axis: 0 });
      return this.op('DequantizeLinear', [gathered, scale, zero]);
    }
    this.floatInit(name, [s.vocab, s.hidden], () => this.w(name));
    return this.op('Gather', [name, 'input_ids'], { axis: 0 });
  }

  /** cos and sin of the rotary angles, [batch, 1, seq, head_dim], computed in float32 and cast to the activations. */
  private rotary(): { cos: string; sin: string } {
    const { s } = this;
    const half = s.headDim / 2;
    const inv = new Float32Array(half);
    for (let i = 0; i < half; i++) inv[i] = 1 / s.ropeTheta ** ((2 * i) / s.headDim);
    const invName = this.constF32('rotary_inv_freq', [half], () => inv);
    const pos = this.op('Cast', ['position_ids'], { to: 1 });
    const angles = this.op('Mul', [this.op('Unsqueeze', [pos, this.ints('axes_2', [2])]), invName]);
    const both = this.op('Concat', [angles, angles], { axis: -1 });
    const toAct = (x: string) => (this.act === 'float16' ? this.op('Cast', [x], { to: 10 }) : x);
    const axis1 = this.ints('axes_1', [1]);
    return {
      cos: toAct(this.op('Unsqueeze', [this.op('Cos', [both]), axis1])),
      sin: toAct(this.op('Unsqueeze', [this.op('Sin', [both]), axis1])),
    };
  }

  /** 0 where query i may see key j (j ≤ past + i and attention_mask[j] = 1), the type's lowest value elsewhere. */
  private causalMask(present: string): string {
    const total = this.op('Squeeze', [this.op('Shape', [present], { start: 2, end: 3 }), this.ints('axes_0', [0])]);
    const seq = this.op('Squeeze', [this.op('Shape', ['input_ids'], { start: 1, end: 2 }), this.ints('axes_0', [0])]);
    const past = this.op('Sub', [total, seq]);
    const one = this.scalar('one', 1);
    const keys = this.op('Range', [this.scalar('zero', 0), total, one]);
    const queries = this.op('Range', [past, total, one]);
    const causal = this.op('LessOrEqual', [
      this.op('Unsqueeze', [keys, this.ints('axes_0', [0])]),
      this.op('Unsqueeze', [queries, this.ints('axes_1', [1])]),
    ]);
    const padded = this.op('Unsqueeze', [this.op('Cast', ['attention_mask'], { to: 9 }), this.ints('axes_1_2', [1, 2])]);
    const allowed = this.op('And', [causal, padded]);
    const lowest = this.act === 'float16' ? -65504 : -3.4028234663852886e38;
    return this.op('Where', [allowed, this.actConst('mask_zero', [0]), this.actConst('mask_lowest', [lowest])]);
  }

  private attention(x: string, l: number, cos: string, sin: string, mask: () => string): string {
    const { s } = this;
    const p = `model.layers.${l}.self_attn`;
    const heads = (y: string, n: number) =>
      this.op('Transpose', [this.op('Reshape', [y, this.ints(`shape_heads_${n}`, [0, 0, n, s.headDim])])], { perm: [0, 2, 1, 3] });
    const q = this.rope(heads(this.linear(x, `${p}.q_proj`, s.hidden, s.heads * s.headDim, `${p}.q_proj.bias`), s.heads), cos, sin);
    const k = this.rope(heads(this.linear(x, `${p}.k_proj`, s.hidden, s.kvHeads * s.headDim, `${p}.k_proj.bias`), s.kvHeads), cos, sin);
    const v = heads(this.linear(x, `${p}.v_proj`, s.hidden, s.kvHeads * s.headDim, `${p}.v_proj.bias`), s.kvHeads);
    const key = this.op('Concat', [`past_key_values.${l}.key`, k], { axis: 2 }, `present.${l}.key`);
    const value = this.op('Concat', [`past_key_values.${l}.value`, v], { axis: 2 }, `present.${l}.value`);
    const rep = s.heads / s.kvHeads;
    const repeat = (t: string) =>
      this.op('Reshape', [
        this.op('Expand', [this.op('Unsqueeze', [t, this.ints('axes_2', [2])]), this.ints('repeat_kv', [1, 1, rep, 1, 1])]),
        this.ints('shape_repeated', [0, s.heads, -1, s.headDim]),
      ]);
    const scores = this.op('Mul', [
      this.op('MatMul', [q, this.op('Transpose', [repeat(key)], { perm: [0, 1, 3, 2] })]),
      this.actConst('attn_scale', [1 / Math.sqrt(s.headDim)]),
    ]);
    const probs = this.op('Softmax', [this.op('Add', [scores, mask()])], { axis: -1 });
    const ctx = this.op('Transpose', [this.op('MatMul', [probs, repeat(value)])], { perm: [0, 2, 1, 3] });
    const flat = this.op('Reshape', [ctx, this.ints('shape_merge', [0, 0, s.heads * s.headDim])]);
    return this.linear(flat, `${p}.o_proj`, s.heads * s.headDim, s.hidden);
  }

  /** x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁]. */
  private rope(x: string, cos: string, sin: string): string {
    const half = this.s.headDim / 2;
    const last = this.ints('axes_last', [-1]);
    const x1 = this.op('Slice', [x, this.ints('zero_1', [0]), this.ints('half_1', [half]), last]);
    const x2 = this.op('Slice', [x, this.ints('half_1', [half]), this.ints('big_1', [2 ** 31]), last]);
    const rotated = this.op('Concat', [this.op('Neg', [x2]), x1], { axis: -1 });
    return this.op('Add', [this.op('Mul', [x, cos]), this.op('Mul', [rotated, sin])]);
  }

  private mlp(x: string, p: string): string {
    const { s } = this;
    const gate = this.linear(x, `${p}.mlp.gate_proj`, s.hidden, s.intermediate);
    const up = this.linear(x, `${p}.mlp.up_proj`, s.hidden, s.intermediate);
    const act = this.op('Mul', [this.op('Mul', [gate, this.op('Sigmoid', [gate])]), up]);
    return this.linear(act, `${p}.mlp.down_proj`, s.intermediate, s.hidden);
  }

  private rmsNorm(x: string, weight: string): string {
    const ms = this.op('ReduceMean', [this.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = this.op('Reciprocal', [this.op('Sqrt', [this.op('Add', [ms, this.actConst('rms_eps', [this.s.rmsEps])])])]);
    this.floatInit(weight, [this.s.hidden], () => this.w(weight));
    return this.op('Mul', [this.op('Mul', [x, inv]), weight]);
  }

  /** x @ W (+ b) for a K × N weight named `${p}.weight` ('lm_head' = the embedding's transpose). */
  private linear(x: string, p: string, k: number, n: number, bias?: string, out?: string): string {
    const tied = p === 'lm_head';
    const wname = tied ? 'model.embed_tokens.weight' : `${p}.weight`;
    const kn = (): Float32Array => (tied ? transpose(this.w(wname), n, k) : this.w(wname));
    let y: string;
    const v = this.o.variant;
    if (tied && !this.s.headCopy) {
      // The head reads the embedding itself (one stored copy); int8 dequantizes the stored int8 table.
      const table = v === 'int8' ? this.op('DequantizeLinear', [`${wname}_quantized`, `${wname}_scale`, `${wname}_zero_point`]) : wname;
      y = this.op('MatMul', [x, this.op('Transpose', [table], { perm: [1, 0] })], undefined, out);
    } else if (v === 'q4' || v === 'q4f16') {
      // The embedding's rows are the head's output columns: quantize them as they are.
      const q = quantizedOnce((): Q4Weights => quantizeQ4(this.w(wname), k, n, Q4_BLOCK, tied), (x) => x.scales);
      const blocks = k / Q4_BLOCK;
      this.init(`${p}.MatMul.weight_Q4`, 'uint8', [n, blocks, Q4_BLOCK / 2], { length: (n * k) / 2, make: () => q.take().packed });
      this.floatInit(`${p}.MatMul.weight_scales`, [n * blocks], () => q.peek());
      const attrs: Record<string, number> = { K: k, N: n, bits: 4, block_size: Q4_BLOCK };
      if (this.o.accuracyLevel !== undefined) attrs.accuracy_level = this.o.accuracyLevel;
      y = this.op('MatMulNBits', [x, `${p}.MatMul.weight_Q4`, `${p}.MatMul.weight_scales`], attrs, bias ? undefined : out, 'com.microsoft');
    } else if (v === 'int8') {
      const q = quantizedOnce(() => quantizeInt8(kn()), (x) => x.scale);
      this.init(`${p}.weight_quantized`, 'int8', [k, n], { length: k * n, make: () => bytesOf(q.take().values) });
      const wScale = this.constF32(`${p}.weight_scale`, [], () => Float32Array.of(q.peek()));
      const wZero = this.constTyped(`${p}.weight_zero_point`, 'int8', [], new Int8Array(1));
      const [xq, xScale, xZero] = this.multi('DynamicQuantizeLinear', [x], 3);
      const acc = this.op('MatMulInteger', [xq, `${p}.weight_quantized`, xZero, wZero]);
      const scale = this.op('Mul', [xScale, wScale]);
      y = this.op('Mul', [this.op('Cast', [acc], { to: 1 }), scale], undefined, bias ? undefined : out);
    } else {
      this.floatInit(`${p}.weight_t`, [k, n], kn);
      y = this.op('MatMul', [x, `${p}.weight_t`], undefined, bias ? undefined : out);
    }
    if (!bias) return y;
    this.floatInit(bias, [n], () => this.w(bias));
    return this.op('Add', [y, bias], undefined, out);
  }

  private op(op: string, inputs: string[], attrs?: NodeSpec['attrs'], out?: string, domain?: string): string {
    return this.multi(op, inputs, 1, attrs, out, domain)[0];
  }

  private multi(op: string, inputs: string[], n: number, attrs?: NodeSpec['attrs'], out?: string, domain?: string): string[] {
    const id = this.count++;
    const outputs = Array.from({ length: n }, (_, i) => (out !== undefined && n === 1 ? out : `/${op}_${id}_output_${i}`));
    this.nodes.push({ op, inputs, outputs, name: `/${op}_${id}`, ...(domain ? { domain } : {}), ...(attrs ? { attrs } : {}) });
    return outputs;
  }

  private readonly seen = new Set<string>();

  private init(name: string, type: TensorType, dims: number[], data: LazyBytes): string {
    if (this.seen.has(name)) return name;
    this.seen.add(name);
    this.inits.push({ name, type, dims, data });
    return name;
  }

  /** A float tensor in the activations' type (weights, norms, biases, q4 scales). */
  private floatInit(name: string, dims: number[], make: () => Float32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const half = this.act === 'float16';
    return this.init(name, this.act, dims, { length: n * (half ? 2 : 4), make: () => (half ? bytesOf(toFloat16(make())) : bytesOf(make())) });
  }

  private actConst(name: string, values: number[]): string {
    return this.floatInit(name, [], () => Float32Array.from(values));
  }

  /** A float32 tensor whatever the activations' type (rotary frequencies, int8 scales). */
  private constF32(name: string, dims: number[], make: () => Float32Array): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.init(name, 'float32', dims, { length: 4 * n, make: () => bytesOf(make()) });
  }

  private constTyped(name: string, type: TensorType, dims: number[], values: Int8Array): string {
    return this.init(name, type, dims, lazyOf(bytesOf(values)));
  }

  private ints(name: string, values: number[]): string {
    return this.init(name, 'int64', [values.length], lazyOf(bytesOf(BigInt64Array.from(values.map(BigInt)))));
  }

  private scalar(name: string, value: number): string {
    return this.init(name, 'int64', [], lazyOf(bytesOf(BigInt64Array.of(BigInt(value)))));
  }
}

/**
 * A quantization made at most once per file: `take()` hands over the big arrays (the writer asks for them once) and
 * `peek()` keeps the small ones (scales) for whichever tensor is written later.
 */
function quantizedOnce<T, S>(make: () => T, small: (t: T) => S): { take(): T; peek(): S } {
  let value: T | undefined;
  let kept: S | undefined;
  let taken = false;
  return {
    take() {
      if (taken) throw new Error('a quantized tensor was written twice');
      taken = true;
      const v = value ?? make();
      kept ??= small(v);
      value = undefined;
      return v;
    },
    peek() {
      if (kept === undefined) {
        value = make();
        kept = small(value);
      }
      return kept;
    },
  };
}

/** An R × C row-major matrix's transpose (C × R). */
function transpose(a: Float32Array, r: number, c: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}
