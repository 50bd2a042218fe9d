/**
 * A Llama/Qwen2 decoder's weights as they sit in an ONNX file (onnxIndex.ts), read one tensor at a time when the
 * exporter writes it: the fused copy of a 6 GB file is made with a few hundred MB in memory, not several times the
 * file. Float weights (float32 or float16) are widened to float32; 4-bit MatMulNBits weights (onnx-community's q4 and
 * q4f16 files) are kept as their packed blocks, scales (widened to float32) and zero points, so a q4 download is
 * rebuilt without any fp32 original and computes with the very same 4-bit weights.
 */
import { DTYPE, IndexedNode, OnnxIndex, TensorRef, readTensorBytes } from './onnxIndex';
import { LazyBytes } from './protoWriter';
import { HfConfig, PROJECTIONS, ProjectionName, locateBias, locateNamed, locateWeight, transpose } from './llamaWeights';

/** A float32 tensor read on demand (a fresh array each call). */
export interface LazyF32 {
  readonly length: number;
  read(): Float32Array;
}

/** A float projection, read as [out][in] row-major. */
export interface FloatProjection {
  kind: 'float';
  out: number;
  in: number;
  rows: LazyF32;
  /** The same weight as the MatMul operand [in][out], when the file stores it so (read without transposing twice). */
  operand?: LazyF32;
}

/** A com.microsoft MatMulNBits weight, 4 bits: B [N, blocks, blockSize / 2] uint8, scales [N · blocks]. */
export interface Q4Projection {
  kind: 'q4';
  out: number;
  in: number;
  blockSize: number;
  packed: LazyBytes;
  scales: LazyF32;
  /** uint8 [N · ceil(blocks / 2)] (two 4-bit zero points a byte), absent for symmetric blocks (zero point 8). */
  zeroPoints?: LazyBytes;
}

export type SourceProjection = FloatProjection | Q4Projection;

export interface SourceLayer {
  inputNorm: LazyF32;
  postNorm: LazyF32;
  proj: Record<ProjectionName, SourceProjection>;
  /** q/k/v biases (Qwen2), absent for Llama. */
  bias: Partial<Record<ProjectionName, LazyF32>>;
}

export interface DecoderSource {
  /** [vocab][hidden]. */
  embed: LazyF32;
  layers: SourceLayer[];
  norm: LazyF32;
  /** The output layer when the graph has one of its own (else the embedding is tied). */
  head: SourceProjection | null;
  /** 'q4' when the projections are 4-bit blocks. */
  weights: 'float' | 'q4';
}

let halfTable: Float32Array | null = null;

/** float16 bits → float32 through a 65 536-entry table (an embedding is ~10⁸ values). */
function widenHalf(bits: Uint16Array): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let h = 0; h < 65536; h++) {
      const sign = (h & 0x8000) << 16;
      const exp = (h >>> 10) & 0x1f;
      const mant = h & 0x3ff;
      if (exp === 0) halfTable[h] = (sign ? -1 : 1) * mant * 2 ** -24;
      else if (exp === 0x1f) {
        u[0] = sign | 0x7f800000 | (mant << 13);
        halfTable[h] = f[0];
      } else {
        u[0] = sign | ((exp + 112) << 23) | (mant << 13);
        halfTable[h] = f[0];
      }
    }
  }
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfTable[bits[i]];
  return out;
}

/** A float32 or float16 initializer as float32, read when asked. */
export function lazyF32(t: TensorRef): LazyF32 {
  if (t.type !== DTYPE.float32 && t.type !== DTYPE.float16) throw new Error(`${t.name}: type ${t.type} is not float32 or float16`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  return {
    length: count,
    read: () => {
      const b = readTensorBytes(t);
      // readTensorBytes' arrays start at offset 0 of their own buffer (aligned), except inline ones: copy those.
      const own = b.byteOffset % 4 === 0 ? b : b.slice();
      if (t.type === DTYPE.float16) return widenHalf(new Uint16Array(own.buffer, own.byteOffset, count));
      return new Float32Array(own.buffer, own.byteOffset, count);
    },
  };
}

function lazyBytes(t: TensorRef): LazyBytes {
  return { length: t.byteLength, make: () => readTensorBytes(t) };
}

function tensor(ix: OnnxIndex, name: string): TensorRef {
  const t = ix.tensors.get(name);
  if (!t) throw new Error(`no initializer ${name}`);
  return t;
}

/** The MatMulNBits node computing layer `layer`'s `proj` (or lm_head, layer −1), by its node or weight name. */
function findQ4Node(ix: OnnxIndex, layer: number, proj: string): IndexedNode | undefined {
  const nodeMark = layer < 0 ? '/lm_head/' : `/layers.${layer}/${proj}/`;
  const initMark = layer < 0 ? 'lm_head.' : `layers.${layer}.${proj.replace('/', '.')}.`;
  return ix.nodes.find((n) => n.opType === 'MatMulNBits' &&
    (n.name.includes(nodeMark) || n.inputs[1]?.startsWith(initMark) || n.inputs[1]?.includes(`.${initMark}`)));
}

/** Why a MatMulNBits node cannot be carried over as it is, or null. */
function q4Problem(n: IndexedNode): string | null {
  if ((n.ints.bits ?? 4) !== 4) return `${n.name}: ${n.ints.bits}-bit MatMulNBits (only 4 bits)`;
  if (n.inputs[4]) return `${n.name}: MatMulNBits with g_idx`;
  if (!(n.ints.block_size >= 16) || n.ints.K % n.ints.block_size !== 0) return `${n.name}: K ${n.ints.K} is not whole blocks of ${n.ints.block_size}`;
  return null;
}

function q4Projection(ix: OnnxIndex, n: IndexedNode): Q4Projection {
  const why = q4Problem(n);
  if (why) throw new NotRebuildable(why);
  const zp = n.inputs[3] ? tensor(ix, n.inputs[3]) : undefined;
  if (zp && zp.type !== DTYPE.uint8) throw new NotRebuildable(`${n.name}: zero points of type ${zp.type} (only packed uint8)`);
  return {
    kind: 'q4', out: n.ints.N, in: n.ints.K, blockSize: n.ints.block_size, packed: lazyBytes(tensor(ix, n.inputs[1])), scales: lazyF32(tensor(ix, n.inputs[2])),
    ...(zp ? { zeroPoints: lazyBytes(zp) } : {}),
  };
}

/** A weight laid out in a way the fused graph does not take (the file is then loaded as it is). */
export class NotRebuildable extends Error {}

function projection(ix: OnnxIndex, layer: number, proj: string): SourceProjection | null {
  const q = findQ4Node(ix, layer, proj);
  if (q) return q4Projection(ix, q);
  const at = locateWeight(ix, layer, proj);
  if (!at) return null;
  const f = lazyF32(tensor(ix, at.name));
  if (!at.inOut) return { kind: 'float', out: at.out, in: at.in, rows: f };
  return { kind: 'float', out: at.out, in: at.in, rows: { length: f.length, read: () => transpose(f.read(), at.in, at.out) }, operand: f };
}

/** Every weight of the decoder described by `c`, to be read when needed; throws naming the first one missing. */
export function decoderSource(ix: OnnxIndex, c: HfConfig): DecoderSource {
  const f32 = (suffix: string) => lazyF32(tensor(ix, locateNamed(ix, suffix)));
  const layers: SourceLayer[] = [];
  let q4 = 0;
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const proj = {} as Record<ProjectionName, SourceProjection>;
    const bias: Partial<Record<ProjectionName, LazyF32>> = {};
    for (const p of PROJECTIONS) {
      const m = projection(ix, l, p);
      if (!m) throw new Error(`layer ${l}: no weight for ${p}`);
      if (m.kind === 'q4') q4++;
      proj[p] = m;
      const q = findQ4Node(ix, l, p);
      const b = locateBias(ix, l, p) ?? (q?.inputs[5] || null);
      if (b) bias[p] = lazyF32(tensor(ix, b));
    }
    layers.push({ inputNorm: f32(`layers.${l}.input_layernorm.weight`), postNorm: f32(`layers.${l}.post_attention_layernorm.weight`), proj, bias });
  }
  if (q4 !== 0 && q4 !== layers.length * PROJECTIONS.length) throw new NotRebuildable('some projections are 4-bit and some are not');
  return { embed: f32('embed_tokens.weight'), layers, norm: f32('norm.weight'), head: projection(ix, -1, 'lm_head'), weights: q4 > 0 ? 'q4' : 'float' };
}
