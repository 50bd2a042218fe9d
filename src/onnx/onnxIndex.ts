/**
 * An ONNX file's structure without its weights: every initializer's name, type, dims and where its bytes lie (in
 * the .onnx itself or in an external-data file), and every node with its integer attributes. The file is read through
 * a small window, and weight bytes are skipped, so indexing a 2.5 GB model takes a few MB; a tensor's bytes are read
 * only when asked for (`readTensor`). This is what lets a converter stream a model of any size: one tensor in memory
 * at a time, not the whole file.
 *
 * Field numbers are those of onnx/onnx.proto: ModelProto.graph = 7; GraphProto.node = 1, .initializer = 5;
 * NodeProto.input = 1, .output = 2, .name = 3, .op_type = 4, .attribute = 5, .domain = 7; AttributeProto.name = 1,
 * .i = 3, .type = 20; TensorProto.dims = 1, .data_type = 2, .float_data = 4, .int32_data = 5, .int64_data = 7,
 * .name = 8, .raw_data = 9, .external_data = 13 (key = 1, value = 2: location, offset, length), .data_location = 14.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** ONNX TensorProto.DataType codes this reader knows the width of. */
export const DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 } as const;
const WIDTH: Record<number, number> = { 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 9: 1, 10: 2 };

export interface TensorRef {
  name: string;
  dims: number[];
  /** TensorProto.DataType code (DTYPE). */
  type: number;
  /** Where the little-endian bytes are: a file (the model or its external data) and an offset. */
  file: string;
  offset: number;
  byteLength: number;
  /** Set when the values were stored as varints (int32_data / int64_data): decoded at index time (small tensors). */
  inline?: Uint8Array;
}

export interface IndexedNode {
  opType: string;
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (AttributeProto.i), by name. */
  ints: Record<string, number>;
}

export interface OnnxIndex {
  file: string;
  tensors: Map<string, TensorRef>;
  nodes: IndexedNode[];
  /** Bytes of the .onnx and of every external-data file it names. */
  bytes: number;
}

/** Positional reads of a file through a 1 MiB window (protobuf fields are read in order, big ones skipped). */
class FileReader {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private bufStart = 0;
  private bufEnd = 0;
  pos = 0;

  constructor(private readonly fd: number, readonly size: number) {}

  private fill(at: number): void {
    this.bufStart = at;
    this.bufEnd = at + fs.readSync(this.fd, this.buf, 0, Math.min(this.buf.length, this.size - at), at);
    if (this.bufEnd <= at) throw new Error('truncated file');
  }

  byte(): number {
    if (this.pos < this.bufStart || this.pos >= this.bufEnd) this.fill(this.pos);
    return this.buf[this.pos++ - this.bufStart];
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new Error('varint too long');
    }
  }

  /** `n` bytes at the current position (small fields only). */
  take(n: number): Uint8Array {
    if (this.pos + n > this.size) throw new Error('truncated field');
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) done += fs.readSync(this.fd, out, done, n - done, this.pos + done);
    this.pos += n;
    return out;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint();
      this.pos += n;
    } else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (this.pos > this.size) throw new Error('truncated field');
  }
}

const utf8 = new TextDecoder();

/** Reads the structure of `file`; throws on a file that is not a readable ONNX model. */
export function indexOnnx(file: string): OnnxIndex {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const r = new FileReader(fd, size);
    const tensors = new Map<string, TensorRef>();
    const nodes: IndexedNode[] = [];
    let sawGraph = false;
    while (r.pos < size) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field !== 7 || wire !== 2) {
        r.skip(wire);
        continue;
      }
      sawGraph = true;
      const end = r.varint() + r.pos;
      while (r.pos < end) {
        const gtag = r.varint();
        const g = Math.floor(gtag / 8);
        const gw = gtag & 7;
        if (g === 5 && gw === 2) {
          const t = readTensorHeader(r, r.varint() + r.pos, file);
          if (t) tensors.set(t.name, t);
        } else if (g === 1 && gw === 2) nodes.push(readNode(r.take(r.varint())));
        else r.skip(gw);
      }
    }
    if (!sawGraph) throw new Error(`${file}: no graph in the file (not an ONNX model)`);
    const files = new Set([...tensors.values()].map((t) => t.file));
    files.add(file);
    let bytes = 0;
    for (const f of files) bytes += fs.statSync(f).size;
    return { file, tensors, nodes, bytes };
  } finally {
    fs.closeSync(fd);
  }
}

function readTensorHeader(r: FileReader, end: number, file: string): TensorRef | null {
  const dims: number[] = [];
  let type = 0;
  let name = '';
  let offset = -1;
  let byteLength = 0;
  let inline: Uint8Array | undefined;
  let external = false;
  const ext = { location: '', offset: 0, length: -1 };
  while (r.pos < end) {
    const tag = r.varint();
    const f = Math.floor(tag / 8);
    const w = tag & 7;
    if (f === 1 && w === 0) dims.push(r.varint());
    else if (f === 1 && w === 2) {
      const e = r.varint() + r.pos;
      while (r.pos < e) dims.push(r.varint());
    } else if (f === 2 && w === 0) type = r.varint();
    else if (f === 8 && w === 2) name = utf8.decode(r.take(r.varint()));
    else if ((f === 9 || f === 4) && w === 2) {
      // raw_data, or packed float_data: little-endian values as they are.
      byteLength = r.varint();
      offset = r.pos;
      r.pos += byteLength;
    } else if ((f === 5 || f === 7) && w === 2) {
      // int32_data (also float16 / uint8 / int8 / bool values) or int64_data, as packed varints.
      inline = varintValues(r.take(r.varint()), type, f === 7);
    } else if (f === 13 && w === 2) {
      const [k, v] = readEntry(r.take(r.varint()));
      if (k === 'location') ext.location = v;
      else if (k === 'offset') ext.offset = Number(v);
      else if (k === 'length') ext.length = Number(v);
    } else if (f === 14 && w === 0) external = r.varint() === 1;
    else r.skip(w);
  }
  r.pos = end;
  const width = WIDTH[type];
  if (width === undefined) return null;
  const count = dims.reduce((a, b) => a * b, 1);
  if (external) {
    const dir = path.dirname(file);
    const target = path.resolve(dir, ext.location);
    if (ext.location === '' || path.relative(dir, target).startsWith('..')) throw new Error(`${name}: external data ${ext.location} is outside the model's folder`);
    return { name, dims, type, file: target, offset: ext.offset, byteLength: ext.length >= 0 ? ext.length : count * width };
  }
  if (inline) return { name, dims, type, file, offset: 0, byteLength: inline.byteLength, inline };
  if (offset < 0) return { name, dims, type, file, offset: 0, byteLength: 0, inline: new Uint8Array(0) };
  return { name, dims, type, file, offset, byteLength };
}

/** Packed varints → little-endian bytes of `type` (int32_data carries float16 bits and small ints too). */
function varintValues(b: Uint8Array, type: number, int64: boolean): Uint8Array {
  const values: bigint[] = [];
  let v = 0n;
  let shift = 0n;
  for (const x of b) {
    v |= BigInt(x & 0x7f) << shift;
    shift += 7n;
    if ((x & 0x80) === 0) {
      values.push(v);
      v = 0n;
      shift = 0n;
    }
  }
  const width = WIDTH[type] ?? (int64 ? 8 : 4);
  const out = new Uint8Array(values.length * width);
  const dv = new DataView(out.buffer);
  values.forEach((x, i) => {
    if (width === 8) dv.setBigUint64(i * 8, BigInt.asUintN(64, x), true);
    else if (width === 4) dv.setUint32(i * 4, Number(BigInt.asUintN(32, x)), true);
    else if (width === 2) dv.setUint16(i * 2, Number(BigInt.asUintN(16, x)), true);
    else out[i] = Number(BigInt.asUintN(8, x));
  });
  return out;
}

function readEntry(b: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  let i = 0;
  const varint = (): number => {
    let n = 0;
    let s = 1;
    for (;;) {
      const x = b[i++];
      n += (x & 0x7f) * s;
      if ((x & 0x80) === 0) return n;
      s *= 128;
    }
  };
  while (i < b.length) {
    const tag = varint();
    if ((tag & 7) !== 2) throw new Error('bad external_data entry');
    const n = varint();
    const s = utf8.decode(b.subarray(i, i + n));
    i += n;
    if (tag >> 3 === 1) key = s;
    else if (tag >> 3 === 2) value = s;
  }
  return [key, value];
}

function readNode(b: Uint8Array): IndexedNode {
  const node: IndexedNode = { opType: '', name: '', domain: '', inputs: [], outputs: [], ints: {} };
  let i = 0;
  const varint = (): number => {
    let n = 0;
    let s = 1;
    for (;;) {
      if (i >= b.length) throw new Error('truncated node');
      const x = b[i++];
      n += (x & 0x7f) * s;
      if ((x & 0x80) === 0) return n;
      s *= 128;
    }
  };
  const bytes = (): Uint8Array => {
    const n = varint();
    i += n;
    return b.subarray(i - n, i);
  };
  const skip = (w: number): void => {
    if (w === 0) varint();
    else if (w === 1) i += 8;
    else if (w === 2) bytes();
    else if (w === 5) i += 4;
    else throw new Error(`unsupported protobuf wire type ${w}`);
  };
  while (i < b.length) {
    const tag = varint();
    const f = Math.floor(tag / 8);
    const w = tag & 7;
    if (f === 1 && w === 2) node.inputs.push(utf8.decode(bytes()));
    else if (f === 2 && w === 2) node.outputs.push(utf8.decode(bytes()));
    else if (f === 3 && w === 2) node.name = utf8.decode(bytes());
    else if (f === 4 && w === 2) node.opType = utf8.decode(bytes());
    else if (f === 7 && w === 2) node.domain = utf8.decode(bytes());
    else if (f === 5 && w === 2) {
      const a = readIntAttribute(bytes());
      if (a) node.ints[a[0]] = a[1];
    } else skip(w);
  }
  return node;
}

/** [name, value] of an INT attribute (AttributeProto.i, field 3), else null. */
function readIntAttribute(b: Uint8Array): [string, number] | null {
  let i = 0;
  let name = '';
  let value: number | null = null;
  const varint = (): bigint => {
    let n = 0n;
    let s = 0n;
    for (;;) {
      const x = b[i++];
      n |= BigInt(x & 0x7f) << s;
      if ((x & 0x80) === 0) return n;
      s += 7n;
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const f = tag >> 3;
    const w = tag & 7;
    if (f === 1 && w === 2) {
      const n = Number(varint());
      name = utf8.decode(b.subarray(i, i + n));
      i += n;
    } else if (f === 3 && w === 0) value = Number(BigInt.asIntN(64, varint()));
    else if (w === 0) varint();
    else if (w === 1) i += 8;
    else if (w === 2) i += Number(varint());
    else if (w === 5) i += 4;
    else return null;
  }
  return value === null ? null : [name, value];
}

/** The bytes of `t` (read now; the caller owns them). */
export function readTensorBytes(t: TensorRef): Uint8Array {
  if (t.inline) return t.inline;
  const out = new Uint8Array(t.byteLength);
  const fd = fs.openSync(t.file, 'r');
  try {
    let done = 0;
    while (done < t.byteLength) {
      const n = fs.readSync(fd, out, done, t.byteLength - done, t.offset + done);
      if (n === 0) throw new Error(`${t.name}: ${path.basename(t.file)} ends before the tensor's ${t.byteLength} bytes`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
