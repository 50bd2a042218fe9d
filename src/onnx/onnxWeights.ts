/**
 * The weights of an ONNX file, read with a small protobuf reader of our own (only what a converter needs): the graph's
 * initializers (name, dims, float32 data) and, for weights that an exporter turned into MatMul operands, which
 * initializer feeds which node. ONNX's schema (onnx.proto3): ModelProto.graph = 7; GraphProto.node = 1,
 * .initializer = 5; NodeProto.input = 1, .output = 2, .name = 3, .op_type = 4; TensorProto.dims = 1,
 * .data_type = 2, .float_data = 4, .name = 8, .raw_data = 9, .external_data = 13 (StringStringEntryProto: key = 1,
 * value = 2; keys location, offset, length), .data_location = 14 (1 = external, in a file next to the model).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxWeights {
  tensors: Map<string, OnnxTensor>;
  nodes: OnnxNode[];
}

const FLOAT = 1;

class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  varint(): number {
    // Up to 2^53: enough for lengths and dims; wire values above that are not used by ONNX weights.
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
  }
  /** A field's tag → [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }
  bytes(): Uint8Array {
    const n = this.varint();
    const s = this.pos;
    this.pos += n;
    if (this.pos > this.end) throw new Error('truncated field');
    return this.buf.subarray(s, s + n);
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint(); // read first: `pos += varint()` would add to the old pos
      this.pos += n;
    }
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const utf8 = new TextDecoder();

interface External {
  location: string;
  offset: number;
  length: number;
}

function readEntry(buf: Uint8Array): [string, string] {
  const r = new Reader(buf);
  let key = '';
  let value = '';
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) key = utf8.decode(r.bytes());
    else if (f === 2 && w === 2) value = utf8.decode(r.bytes());
    else r.skip(w);
  }
  return [key, value];
}

/** Reads `length` bytes at `offset` of the external data file into float32s (an fd per file, opened once). */
function readExternal(dir: string, ext: External, fds: Map<string, number>): Float32Array {
  const file = path.resolve(dir, ext.location);
  if (path.relative(dir, file).startsWith('..')) throw new Error(`external data ${ext.location} is outside the model's folder`);
  let fd = fds.get(file);
  if (fd === undefined) {
    fd = fs.openSync(file, 'r');
    fds.set(file, fd);
  }
  const data = new Float32Array(ext.length / 4);
  fs.readSync(fd, new Uint8Array(data.buffer), 0, ext.length, ext.offset);
  return data;
}

function readTensor(buf: Uint8Array, dir: string, fds: Map<string, number>): OnnxTensor | null {
  const r = new Reader(buf);
  let name = '';
  const dims: number[] = [];
  let type = 0;
  let raw: Uint8Array | null = null;
  const floats: number[] = [];
  let external = false;
  const ext: External = { location: '', offset: 0, length: -1 };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 0) dims.push(r.varint());
    else if (f === 1 && w === 2) {
      const q = new Reader(r.bytes());
      while (!q.done()) dims.push(q.varint());
    } else if (f === 2 && w === 0) type = r.varint();
    else if (f === 4 && w === 2) {
      const b = r.bytes();
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i + 4 <= b.byteLength; i += 4) floats.push(v.getFloat32(i, true));
    } else if (f === 4 && w === 5) {
      floats.push(new DataView(r.buf.buffer, r.buf.byteOffset + r.pos, 4).getFloat32(0, true));
      r.pos += 4;
    } else if (f === 8 && w === 2) name = utf8.decode(r.bytes());
    else if (f === 9 && w === 2) raw = r.bytes();
    else if (f === 13 && w === 2) {
      const [k, v] = readEntry(r.bytes());
      if (k === 'location') ext.location = v;
      else if (k === 'offset') ext.offset = Number(v);
      else if (k === 'length') ext.length = Number(v);
    } else if (f === 14 && w === 0) external = r.varint() === 1;
    else r.skip(w);
  }
  if (type !== FLOAT) return null;
  let data: Float32Array;
  if (external) {
    if (ext.length < 0) ext.length = dims.reduce((a, b) => a * b, 1) * 4;
    data = readExternal(dir, ext, fds);
  } else if (raw) {
    // Copy: raw_data is not 4-byte aligned inside the file.
    data = new Float32Array(raw.byteLength / 4);
    new Uint8Array(data.buffer).set(raw);
  } else data = Float32Array.from(floats);
  return { name, dims, data };
}

function readNode(buf: Uint8Array): OnnxNode {
  const r = new Reader(buf);
  const node: OnnxNode = { opType: '', name: '', inputs: [], outputs: [] };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === 2) node.inputs.push(utf8.decode(r.bytes()));
    else if (f === 2 && w === 2) node.outputs.push(utf8.decode(r.bytes()));
    else if (f === 3 && w === 2) node.name = utf8.decode(r.bytes());
    else if (f === 4 && w === 2) node.opType = utf8.decode(r.bytes());
    else r.skip(w);
  }
  return node;
}

/** The float32 initializers and the nodes of `file` (little-endian host assumed, as on every supported platform). */
export function readOnnxWeights(file: string): OnnxWeights {
  const buf = new Uint8Array(fs.readFileSync(file));
  const dir = path.dirname(file);
  const fds = new Map<string, number>();
  const model = new Reader(buf);
  const tensors = new Map<string, OnnxTensor>();
  const nodes: OnnxNode[] = [];
  while (!model.done()) {
    const [f, w] = model.tag();
    if (f !== 7 || w !== 2) {
      model.skip(w);
      continue;
    }
    const graph = new Reader(model.bytes());
    while (!graph.done()) {
      const [g, gw] = graph.tag();
      if (g === 5 && gw === 2) {
        const t = readTensor(graph.bytes(), dir, fds);
        if (t) tensors.set(t.name, t);
      } else if (g === 1 && gw === 2) nodes.push(readNode(graph.bytes()));
      else graph.skip(gw);
    }
  }
  for (const fd of fds.values()) fs.closeSync(fd);
  return { tensors, nodes };
}
