/**
 * A Llama/Qwen2 decoder as a graph of onnxruntime's fused contrib operators, the way onnxruntime-genai's model builder
 * lays it out, but keeping the Optimum inputs and outputs (input_ids, attention_mask, position_ids,
 * past_key_values.{i}.key|value → logits, present.{i}.key|value, the cache BNSH [batch, kv_heads, time, head_dim]) so
 * the engine loads either file the same way:
 *   - RMSNorm: SimplifiedLayerNormalization for the first, SkipSimplifiedLayerNormalization (residual add + norm in
 *     one kernel, the sum as its 4th output) for every later one;
 *   - attention: one MatMul for Q|K|V packed (plus one Add for Qwen2's biases) into com.microsoft GroupQueryAttention
 *     with do_rotary (rotate-half, cos/sin caches [max_positions, head_dim/2] as initializers), which concatenates the
 *     past and new K/V itself (present = past + new; no shared buffer: onnxruntime-node copies outputs anyway) and
 *     applies the causal mask and the grouped heads without any Expand;
 *   - seqlens_k = total − 1 (int32 [1]) and total_sequence_length (int32 scalar) from attention_mask's *shape*: the
 *     engine's padding slots trail the real tokens, so the causal mask alone keeps real rows from seeing them, and
 *     their rows and K/V are discarded by the engine. So: batch 1, no left padding (what the engine feeds).
 * position_ids is accepted and unused (GroupQueryAttention derives positions from seqlens_k).
 */
import { Initializer, ModelSpec, NodeSpec, TensorType, ValueInfo, lazyOf } from './onnxModel';
import { HfConfig, transpose } from './llamaWeights';
import { DecoderSource, LazyF32, NotRebuildable, SourceProjection } from './decoderSource';
import { LazyBytes } from './protoWriter';
import { Q4Weights, quantizeQ4 } from './quantize';

export const FUSED_PRODUCER = 'lockstep-fused';

export interface FusedShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  ropeTheta: number;
  eps: number;
  maxPositions: number;
}

export function fusedShape(c: HfConfig): FusedShape {
  return {
    vocab: c.vocab_size,
    hidden: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    kvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    intermediate: c.intermediate_size,
    ropeTheta: c.rope_theta ?? 10000,
    eps: c.rms_norm_eps ?? 1e-6,
    maxPositions: c.max_position_embeddings ?? 2048,
  };
}

export interface FusedOptions {
  /**
   * The KV cache's layout: 'bnsh' keeps Optimum's (past_key_values.{i}.* [batch, kv_heads, past, head_dim] in,
   * present.{i}.* with past + new out); 'time-major' takes past_key_values.{i}.* as [batch, past, kv_heads, head_dim]
   * (so a caller can feed views of one growing buffer) and returns only the call's rows, present_rows.{i}.*
   * [batch, kv_heads, sequence, head_dim] (so onnxruntime-node copies a few rows out, not the whole cache);
   * 'head-major' (the engine's) takes past_key_values.{i}.* as the caller's whole buffer [batch, kv_heads,
   * capacity ≥ total, head_dim] (the engine sizes it to the cache: kvLayout.ts HeadMajorCache), valid rows first in each head (GroupQueryAttention reads only the first total − sequence
   * rows of a head, from seqlens_k), so no Transpose runs per call; the call's rows come out as one tensor,
   * present_rows [2 × layers (layer i's key at 2i, value at 2i + 1), kv_heads, sequence, head_dim]: one output
   * instead of 2 × layers, each of which onnxruntime-node copies into a new JS buffer.
   */
  cache?: 'bnsh' | 'time-major' | 'head-major';
  /**
   * Every float projection and the head quantized to com.microsoft MatMulNBits (4 bits, symmetric blocks; the
   * embedding stays fp32). A source whose projections are 4-bit already keeps its own blocks either way.
   */
  q4?: { blockSize: number; accuracyLevel?: number };
  /** accuracy_level of the MatMulNBits nodes carried over from a 4-bit source (default 4: int8 activations, the fast CPU path). */
  sourceAccuracyLevel?: number;
  /**
   * Only the head quantized to 4 bits (a float head, as the q4 files of tied-embedding models keep: the fp32 embedding
   * read through a Transpose). Other weights, so other text: a choice, never the default.
   */
  q4Head?: { blockSize: number; accuracyLevel?: number };
}

/** Projections sharing their input, stacked along the output (Q|K|V into one MatMul); 4-bit blocks stack as bytes. */
export function stackProjections(ps: SourceProjection[]): SourceProjection {
  const out = ps.reduce((a, p) => a + p.out, 0);
  const k = ps[0].in;
  if (ps.every((p) => p.kind === 'float')) {
    return {
      kind: 'float', out, in: k,
      rows: lazyConcat(ps.map((p) => (p as { rows: LazyF32 }).rows)),
    };
  }
  const q = ps.filter((p) => p.kind === 'q4');
  if (q.length !== ps.length || q.some((p) => p.blockSize !== q[0].blockSize) || q.some((p) => !p.zeroPoints !== !q[0].zeroPoints)) {
    throw new NotRebuildable('Q, K and V are stored differently (float and 4-bit, or different blocks): not stacked');
  }
  const bytes = (parts: LazyBytes[]): LazyBytes => ({
    length: parts.reduce((a, b) => a + b.length, 0),
    make: () => {
      const all = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
      let at = 0;
      for (const b of parts) {
        all.set(b.make(), at);
        at += b.length;
      }
      return all;
    },
  });
  return {
    kind: 'q4', out, in: k, blockSize: q[0].blockSize,
    packed: bytes(q.map((p) => p.packed)),
    scales: lazyConcat(q.map((p) => p.scales)),
    ...(q[0].zeroPoints ? { zeroPoints: bytes(q.map((p) => p.zeroPoints!)) } : {}),
  };
}

function lazyConcat(parts: LazyF32[]): LazyF32 {
  const length = parts.reduce((a, p) => a + p.length, 0);
  return {
    length,
    read: () => {
      const all = new Float32Array(length);
      let at = 0;
      for (const p of parts) {
        all.set(p.read(), at);
        at += p.length;
      }
      return all;
    },
  };
}

/** One quantization feeding two initializers (packed bytes, scales): made when the first is written, kept until the second is. */
function quantizedOnce(make: () => Q4Weights): { packed: () => Uint8Array; scales: () => Float32Array } {
  let q: Q4Weights | null = null;
  let taken = 0;
  const get = (): Q4Weights => {
    q ??= make();
    const r = q;
    if (++taken === 2) {
      q = null;
      taken = 0;
    }
    return r;
  };
  return { packed: () => get().packed, scales: () => get().scales };
}

const bytesOf = (a: Float32Array | BigInt64Array | Int32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The fused graph of a decoder with weights `w`. */
export function buildFusedGraph(s: FusedShape, w: DecoderSource, opts: FusedOptions = {}): ModelSpec {
  const nodes: NodeSpec[] = [];
  const inits: Initializer[] = [];
  let count = 0;
  const op = (type: string, inputs: string[], outputs: number | string[], attrs?: NodeSpec['attrs'], domain?: string): string[] => {
    const name = `/${type}_${count++}`;
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => `${name}/out${i}`) : outputs;
    nodes.push({ op: type, inputs, outputs: outs, name, attrs, ...(domain ? { domain } : {}) });
    return outs;
  };
  const init = (name: string, type: TensorType, dims: number[], data: Uint8Array | LazyBytes): string => {
    inits.push({ name, type, dims, data: data instanceof Uint8Array ? lazyOf(data) : data });
    return name;
  };
  const f32 = (name: string, dims: number[], data: Float32Array) => init(name, 'float32', dims, bytesOf(data));
  /** A float32 initializer whose values are read (and transformed) only when the file is written. */
  const lazyF32 = (name: string, dims: number[], read: () => Float32Array) =>
    init(name, 'float32', dims, { length: dims.reduce((a, b) => a * b, 1) * 4, make: () => bytesOf(read()) });
  const ms = 'com.microsoft';
  const nbits = (x: string, name: string, k: number, n: number, blockSize: number, inputs: string[], accuracyLevel: number | undefined, outs: number | string[]): string => {
    const attrs: Record<string, number> = { K: k, N: n, bits: 4, block_size: blockSize };
    if (accuracyLevel !== undefined) attrs.accuracy_level = accuracyLevel;
    return op('MatMulNBits', [x, ...inputs], outs, attrs, ms)[0];
  };
  /** x × the projection's transpose: a MatMul on [in][out], or MatMulNBits on 4-bit blocks of its rows. */
  const linear = (x: string, name: string, p: SourceProjection, out?: string, quantize = opts.q4): string => {
    const outs = out ? [out] : 1;
    if (p.kind === 'q4') {
      const blocks = p.in / p.blockSize;
      const inputs = [init(`${name}_Q4`, 'uint8', [p.out, blocks, p.blockSize / 2], p.packed), lazyF32(`${name}_scales`, [p.out * blocks], () => p.scales.read())];
      if (p.zeroPoints) inputs.push(init(`${name}_zp`, 'uint8', [p.zeroPoints.length], p.zeroPoints));
      return nbits(x, name, p.in, p.out, p.blockSize, inputs, opts.sourceAccuracyLevel ?? 4, outs);
    }
    const q = quantize;
    if (!q) {
      const operand = p.operand;
      const read = operand ? () => operand.read() : () => transpose(p.rows.read(), p.out, p.in);
      return op('MatMul', [x, lazyF32(`${name}_t`, [p.in, p.out], read)], outs)[0];
    }
    if (p.in % q.blockSize !== 0) throw new Error(`${name}: K = ${p.in} is not a multiple of the block size ${q.blockSize}`);
    const blocks = p.in / q.blockSize;
    const once = quantizedOnce(() => quantizeQ4(p.rows.read(), p.in, p.out, q.blockSize, true));
    const packed = init(`${name}_Q4`, 'uint8', [p.out, blocks, q.blockSize / 2], { length: p.out * blocks * q.blockSize / 2, make: once.packed });
    const scales = lazyF32(`${name}_scales`, [p.out * blocks], once.scales);
    return nbits(x, name, p.in, p.out, q.blockSize, [packed, scales], q.accuracyLevel, outs);
  };

  const timeMajor = opts.cache === 'time-major';
  const headMajor = opts.cache === 'head-major';
  const rowsOut = timeMajor || headMajor;
  const kvDims = (len: string) => ['batch_size', s.kvHeads, len, s.headDim];
  const inputs: ValueInfo[] = [
    { name: 'input_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
    { name: 'attention_mask', type: 'int64', dims: ['batch_size', 'total_sequence_length'] },
    { name: 'position_ids', type: 'int64', dims: ['batch_size', 'sequence_length'] },
  ];
  const outputs: ValueInfo[] = [{ name: 'logits', type: 'float32', dims: ['batch_size', 'sequence_length', s.vocab] }];
  if (headMajor) outputs.push({ name: 'present_rows', type: 'float32', dims: [2 * s.layers, s.kvHeads, 'sequence_length', s.headDim] });
  for (let l = 0; l < s.layers; l++) {
    for (const kind of ['key', 'value']) {
      const pastDims = timeMajor ? ['batch_size', 'past_sequence_length', s.kvHeads, s.headDim]
        : headMajor ? ['batch_size', s.kvHeads, 'cache_capacity', s.headDim] : kvDims('past_sequence_length');
      inputs.push({ name: `past_key_values.${l}.${kind}`, type: 'float32', dims: pastDims });
      if (timeMajor) outputs.push({ name: `present_rows.${l}.${kind}`, type: 'float32', dims: kvDims('sequence_length') });
      else if (!headMajor) outputs.push({ name: `present.${l}.${kind}`, type: 'float32', dims: kvDims('total_sequence_length') });
    }
  }

  // seqlens_k and total_sequence_length from the mask's length.
  const one = init('one', 'int64', [1], bytesOf(BigInt64Array.of(1n)));
  const axis0 = init('axes_0', 'int64', [1], bytesOf(BigInt64Array.of(0n)));
  const [total64] = op('Shape', ['attention_mask'], 1, { start: 1, end: 2 });
  const [seqlensK] = op('Cast', [op('Sub', [total64, one], 1)[0]], ['seqlens_k'], { to: 6 });
  const [totalLen] = op('Cast', [op('Squeeze', [total64, axis0], 1)[0]], ['total_sequence_length'], { to: 6 });
  // Time-major: the past as BNSH for the kernel, and the last `sequence` rows of each present as the output. The
  // Transposes all come first: placed right before their GroupQueryAttention, onnxruntime 1.30's allocation planner
  // gave the kernel's present the transposed past's buffer in place (its MayInplace hint) and failed on the shape.
  const pastBnsh = new Map<string, string>();
  if (timeMajor) {
    for (let l = 0; l < s.layers; l++) {
      for (const kind of ['key', 'value']) pastBnsh.set(`${l}.${kind}`, op('Transpose', [`past_key_values.${l}.${kind}`], 1, { perm: [0, 2, 1, 3] })[0]);
    }
  }
  const past = (l: number, kind: string): string => pastBnsh.get(`${l}.${kind}`) ?? `past_key_values.${l}.${kind}`;
  const present = (l: number, kind: string): string => (rowsOut ? `/layers.${l}/attn/present.${kind}` : `present.${l}.${kind}`);
  // The call's rows of a present: time-major, its last `sequence` rows; head-major (the present is as long as the
  // buffer), rows total − sequence … total.
  let rowsFrom = '';
  let rowsTo = '';
  if (rowsOut) {
    const [seq64] = op('Shape', ['input_ids'], 1, { start: 1, end: 2 });
    init('time_axis', 'int64', [1], bytesOf(BigInt64Array.of(2n)));
    if (timeMajor) {
      rowsFrom = op('Neg', [seq64], 1)[0];
      rowsTo = init('to_end', 'int64', [1], bytesOf(BigInt64Array.of(BigInt(2 ** 62))));
    } else {
      rowsFrom = op('Sub', [total64, seq64], 1)[0];
      rowsTo = total64;
    }
  }

  // Rotary tables, float32 as the Optimum graph computes them (position × inverse frequency, then cos/sin).
  const half = s.headDim / 2;
  const cos = new Float32Array(s.maxPositions * half);
  const sin = new Float32Array(s.maxPositions * half);
  for (let i = 0; i < half; i++) {
    const inv = Math.fround(1 / s.ropeTheta ** ((2 * i) / s.headDim));
    for (let p = 0; p < s.maxPositions; p++) {
      const angle = Math.fround(p * inv);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  const cosCache = f32('cos_cache', [s.maxPositions, half], cos);
  const sinCache = f32('sin_cache', [s.maxPositions, half], sin);

  const embed = lazyF32('model.embed_tokens.weight', [s.vocab, s.hidden], () => w.embed.read());
  let h = op('Gather', [embed, 'input_ids'], 1, { axis: 0 })[0];
  const eps = { float: s.eps };
  let pending: string | null = null; // the sub-layer output not yet added to the residual stream h
  const norm = (weight: string): string => {
    if (pending === null) return op('SimplifiedLayerNormalization', [h, weight], 1, { axis: -1, epsilon: eps })[0];
    const [y, , , sum] = op('SkipSimplifiedLayerNormalization', [pending, h, weight], 4, { epsilon: eps }, ms);
    h = sum;
    pending = null;
    return y;
  };
  const qkvWidth = (s.heads + 2 * s.kvHeads) * s.headDim;
  const newRows: string[] = [];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}`;
    const L = w.layers[l];
    const x = norm(lazyF32(`${p}.input_layernorm.weight`, [s.hidden], () => L.inputNorm.read()));
    // Q|K|V stacked → one operand [hidden][q + k + v].
    const q = L.proj['self_attn/q_proj'];
    const k = L.proj['self_attn/k_proj'];
    const v = L.proj['self_attn/v_proj'];
    let qkv = linear(x, `${p}.self_attn.qkv_proj.weight`, stackProjections([q, k, v]));
    const qb = L.bias['self_attn/q_proj'];
    if (qb) {
      const kb = L.bias['self_attn/k_proj'];
      const vb = L.bias['self_attn/v_proj'];
      qkv = op('Add', [qkv, lazyF32(`${p}.self_attn.qkv_proj.bias`, [qkvWidth], () => {
        const b = new Float32Array(qkvWidth);
        b.set(qb.read(), 0);
        if (kb) b.set(kb.read(), q.out);
        if (vb) b.set(vb.read(), q.out + k.out);
        return b;
      })], 1)[0];
    }
    const [attn] = op(
      'GroupQueryAttention',
      [qkv, '', '', past(l, 'key'), past(l, 'value'), seqlensK, totalLen, cosCache, sinCache],
      [`/layers.${l}/attn/out`, present(l, 'key'), present(l, 'value')],
      { num_heads: s.heads, kv_num_heads: s.kvHeads, do_rotary: 1, rotary_interleaved: 0 },
      ms,
    );
    if (rowsOut) {
      for (const kind of ['key', 'value']) {
        const rows = timeMajor ? [`present_rows.${l}.${kind}`] : 1;
        newRows.push(op('Slice', [present(l, kind), rowsFrom, rowsTo, 'time_axis'], rows)[0]);
      }
    }
    pending = linear(attn, `${p}.self_attn.o_proj.weight`, L.proj['self_attn/o_proj']);
    const x2 = norm(lazyF32(`${p}.post_attention_layernorm.weight`, [s.hidden], () => L.postNorm.read()));
    const gate = linear(x2, `${p}.mlp.gate_proj.weight`, L.proj['mlp/gate_proj']);
    const up = linear(x2, `${p}.mlp.up_proj.weight`, L.proj['mlp/up_proj']);
    const [silu] = op('Mul', [gate, op('Sigmoid', [gate], 1)[0]], 1);
    const [prod] = op('Mul', [silu, up], 1);
    pending = linear(prod, `${p}.mlp.down_proj.weight`, L.proj['mlp/down_proj']);
  }
  if (headMajor) op('Concat', newRows, ['present_rows'], { axis: 0 });
  const last = norm(lazyF32('model.norm.weight', [s.hidden], () => w.norm.read()));
  const head: SourceProjection = w.head ?? { kind: 'float', out: s.vocab, in: s.hidden, rows: w.embed };
  linear(last, 'lm_head.weight', head, 'logits', opts.q4 ?? opts.q4Head);
  return {
    graphName: 'main_graph',
    producer: FUSED_PRODUCER,
    opsets: [{ domain: '', version: 17 }, { domain: ms, version: 1 }],
    inputs,
    outputs,
    nodes,
    initializers: inits,
  };
}
