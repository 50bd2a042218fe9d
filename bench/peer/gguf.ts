/**
 * GGUF version 3, written and read by the project's own code (from the format's specification in ggml's
 * docs/gguf.md): "GGUF", version, tensor count, key/value count (u64), typed key/values, tensor infos (name, dims
 * innermost first, ggml type, offset into the data section), padding to the alignment, then the tensor data.
 * Tensor types: F32 and Q4_0 (blocks of 32 weights: an f16 scale d and 16 bytes of 4-bit values q, x ≈ d·(q − 8)).
 */
import * as fs from 'node:fs';

export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32' | 'u64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'str'; value: string }
  | { type: 'arr-str'; value: readonly string[] }
  | { type: 'arr-i32'; value: Int32Array };

export type TensorType = 'f32' | 'q4_0';

export interface GgufTensor {
  name: string;
  /** ggml order: the innermost (contiguous) dimension first, e.g. [in, out] for a [out][in] weight. */
  dims: number[];
  type: TensorType;
  data: Float32Array;
}

const ALIGN = 32;
const GGML_TYPE: Record<TensorType, number> = { f32: 0, q4_0: 2 };
const KV_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9, u64: 10 } as const;
const Q4_BLOCK = 32;

/** Growable little-endian byte buffer. */
class Out {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u32(x: number): void { this.room(4); this.view.setUint32(this.len, x, true); this.len += 4; }
  i32(x: number): void { this.room(4); this.view.setInt32(this.len, x, true); this.len += 4; }
  f32(x: number): void { this.room(4); this.view.setFloat32(this.len, x, true); this.len += 4; }
  u64(x: number): void { this.room(8); this.view.setBigUint64(this.len, BigInt(x), true); this.len += 8; }
  bytes(b: Uint8Array): void { this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  str(s: string): void { const b = new TextEncoder().encode(s); this.u64(b.length); this.bytes(b); }
  pad(): void { const n = (ALIGN - (this.len % ALIGN)) % ALIGN; this.bytes(new Uint8Array(n)); }
}

function writeValue(o: Out, v: GgufValue): void {
  switch (v.type) {
    case 'u32': o.u32(KV_TYPE.u32); o.u32(v.value); break;
    case 'i32': o.u32(KV_TYPE.i32); o.i32(v.value); break;
    case 'f32': o.u32(KV_TYPE.f32); o.f32(v.value); break;
    case 'u64': o.u32(KV_TYPE.u64); o.u64(v.value); break;
    case 'bool': o.u32(KV_TYPE.bool); o.bytes(Uint8Array.of(v.value ? 1 : 0)); break;
    case 'str': o.u32(KV_TYPE.str); o.str(v.value); break;
    case 'arr-str': o.u32(KV_TYPE.arr); o.u32(KV_TYPE.str); o.u64(v.value.length); for (const s of v.value) o.str(s); break;
    case 'arr-i32': o.u32(KV_TYPE.arr); o.u32(KV_TYPE.i32); o.u64(v.value.length); for (const x of v.value) o.i32(x); break;
  }
}

/** float32 → IEEE half (round to nearest even), for Q4_0's scales. */
export function toHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Q4_0 blocks of `data` (length a multiple of 32): per block the value of largest magnitude maps to −8. */
export function quantizeQ4_0(data: Float32Array): Uint8Array {
  if (data.length % Q4_BLOCK !== 0) throw new Error(`Q4_0 needs a multiple of ${Q4_BLOCK} values (got ${data.length})`);
  const blocks = data.length / Q4_BLOCK;
  const out = new Uint8Array(blocks * 18);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * Q4_BLOCK;
    let max = 0;
    for (let i = 0; i < Q4_BLOCK; i++) if (Math.abs(data[base + i]) > Math.abs(max)) max = data[base + i];
    const d = max / -8;
    const inv = d === 0 ? 0 : 1 / d;
    view.setUint16(b * 18, toHalf(d), true);
    for (let j = 0; j < Q4_BLOCK / 2; j++) {
      const q0 = Math.min(15, Math.trunc(data[base + j] * inv + 8.5));
      const q1 = Math.min(15, Math.trunc(data[base + j + 16] * inv + 8.5));
      out[b * 18 + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

export function dequantizeQ4_0(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / Q4_BLOCK; b++) {
    const d = fromHalf(view.getUint16(b * 18, true));
    for (let j = 0; j < 16; j++) {
      const q = bytes[b * 18 + 2 + j];
      out[b * 32 + j] = ((q & 15) - 8) * d;
      out[b * 32 + j + 16] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}

function tensorBytes(t: GgufTensor): Uint8Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) throw new Error(`${t.name}: dims ${t.dims.join('×')} but ${t.data.length} values`);
  if (t.type === 'q4_0') return quantizeQ4_0(t.data);
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** writeSync may write less than asked (large buffers): loop until all is written. */
function writeAll(fd: number, b: Uint8Array): void {
  for (let done = 0; done < b.length;) done += fs.writeSync(fd, b, done, b.length - done);
}

/** Writes a GGUF v3 file: the header from memory, then each tensor's bytes streamed (models of gigabytes fit). */
export function writeGguf(file: string, kv: ReadonlyArray<[string, GgufValue]>, tensors: readonly GgufTensor[]): void {
  const o = new Out();
  o.bytes(new TextEncoder().encode('GGUF'));
  o.u32(3);
  o.u64(tensors.length);
  o.u64(kv.length);
  for (const [key, v] of kv) {
    o.str(key);
    writeValue(o, v);
  }
  let offset = 0;
  for (const t of tensors) {
    o.str(t.name);
    o.u32(t.dims.length);
    for (const d of t.dims) o.u64(d);
    o.u32(GGML_TYPE[t.type]);
    o.u64(offset);
    const count = t.dims.reduce((a, b) => a * b, 1);
    const size = t.type === 'q4_0' ? (count / Q4_BLOCK) * 18 : count * 4;
    offset += Math.ceil(size / ALIGN) * ALIGN;
  }
  o.pad();
  const fd = fs.openSync(file, 'w');
  try {
    writeAll(fd, o.buf.subarray(0, o.len));
    for (const t of tensors) {
      const b = tensorBytes(t);
      writeAll(fd, b);
      const pad = (ALIGN - (b.length % ALIGN)) % ALIGN;
      if (pad > 0) writeAll(fd, new Uint8Array(pad));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface GgufFile {
  version: number;
  kv: Map<string, unknown>;
  tensors: { name: string; dims: number[]; type: number; data: Float32Array }[];
}

/** Reads a GGUF v3 file back (F32 and Q4_0 tensors, dequantized), for tests and the converter's self-check. */
export function readGguf(file: string): GgufFile {
  const buf = fs.readFileSync(file);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const u32 = () => { const x = v.getUint32(p, true); p += 4; return x; };
  const u64 = () => { const x = Number(v.getBigUint64(p, true)); p += 8; return x; };
  const str = () => { const n = u64(); const s = buf.subarray(p, p + n).toString('utf8'); p += n; return s; };
  const value = (t: number): unknown => {
    switch (t) {
      case KV_TYPE.u32: return u32();
      case KV_TYPE.i32: { const x = v.getInt32(p, true); p += 4; return x; }
      case KV_TYPE.f32: { const x = v.getFloat32(p, true); p += 4; return x; }
      case KV_TYPE.bool: return buf[p++] !== 0;
      case KV_TYPE.str: return str();
      case KV_TYPE.u64: return u64();
      case KV_TYPE.arr: { const et = u32(); const n = u64(); const a: unknown[] = []; for (let i = 0; i < n; i++) a.push(value(et)); return a; }
      default: throw new Error(`GGUF value type ${t} not supported by this reader`);
    }
  };
  if (buf.subarray(0, 4).toString('latin1') !== 'GGUF') throw new Error(`${file}: not a GGUF file`);
  p = 4;
  const version = u32();
  const nt = u64();
  const nkv = u64();
  const kv = new Map<string, unknown>();
  for (let i = 0; i < nkv; i++) { const k = str(); kv.set(k, value(u32())); }
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nt; i++) {
    const name = str();
    const nd = u32();
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(u64());
    infos.push({ name, dims, type: u32(), offset: u64() });
  }
  const align = (kv.get('general.alignment') as number | undefined) ?? ALIGN;
  const start = Math.ceil(p / align) * align;
  const tensors = infos.map((t) => {
    const count = t.dims.reduce((a, b) => a * b, 1);
    const at = start + t.offset;
    let data: Float32Array;
    if (t.type === GGML_TYPE.f32) data = new Float32Array(buf.buffer.slice(buf.byteOffset + at, buf.byteOffset + at + count * 4));
    else if (t.type === GGML_TYPE.q4_0) data = dequantizeQ4_0(buf.subarray(at, at + (count / Q4_BLOCK) * 18), count);
    else throw new Error(`${t.name}: ggml type ${t.type} not supported by this reader`);
    return { name: t.name, dims: t.dims, type: t.type, data };
  });
  return { version, kv, tensors };
}
