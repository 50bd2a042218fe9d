/**
 * A minimal ONNX model writer (protobuf wire format by hand) for the tiny helper graphs the engine builds at run time,
 * such as the KV-cache slicer that lets a device-resident cache be cut back without a round trip through the CPU.
 * Field numbers are those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TensorProto).
 */

export type OnnxElemType = 'float32' | 'float16' | 'int64';
const ELEM_TYPE: Record<OnnxElemType, number> = { float32: 1, int64: 7, float16: 10 };

/** A dimension: a fixed size or a symbolic name. */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  type: OnnxElemType;
  dims: OnnxDim[];
}

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  /** Integer attributes (e.g. Concat's axis); negative values are not supported by this writer. */
  attrs?: Record<string, number | number[]>;
}

export interface OnnxInitializer {
  name: string;
  /** int64 values, or float32 ones when `float32` is set (tests build tiny stand-in models with weights). */
  int64: number[];
  float32?: Float32Array;
  dims: number[];
}

export interface OnnxGraphSpec {
  name: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  opset: number;
}

/** Serialises a graph as an ONNX ModelProto (IR version 8). */
export function encodeModel(g: OnnxGraphSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(1, encodeNode(n));
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, encodeInitializer(t));
  for (const v of g.inputs) graph.message(11, encodeValueInfo(v));
  for (const v of g.outputs) graph.message(12, encodeValueInfo(v));

  const opset = new ProtoWriter();
  opset.string(1, '');
  opset.varint(2, g.opset);

  const model = new ProtoWriter();
  model.varint(1, 8);
  model.string(2, 'lockstep');
  model.message(7, graph.bytes());
  model.message(8, opset.bytes());
  return model.bytes();
}

function encodeNode(n: OnnxNode): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.op);
  for (const [name, value] of Object.entries(n.attrs ?? {})) {
    const a = new ProtoWriter();
    a.string(1, name);
    if (typeof value === 'number') {
      a.varint(3, value);
      a.varint(20, 2); // INT
    } else {
      for (const v of value) a.varint(8, v);
      a.varint(20, 7); // INTS
    }
    w.message(5, a.bytes());
  }
  return w.bytes();
}

function encodeValueInfo(v: OnnxValueInfo): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim.bytes());
  }
  const tensor = new ProtoWriter();
  tensor.varint(1, ELEM_TYPE[v.type]);
  tensor.message(2, shape.bytes());
  const type = new ProtoWriter();
  type.message(1, tensor.bytes());
  const info = new ProtoWriter();
  info.string(1, v.name);
  info.message(2, type.bytes());
  return info.bytes();
}

function encodeInitializer(t: OnnxInitializer): Uint8Array {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.float32 ? ELEM_TYPE.float32 : ELEM_TYPE.int64);
  w.string(8, t.name);
  if (t.float32) {
    w.message(9, new Uint8Array(t.float32.buffer, t.float32.byteOffset, t.float32.byteLength));
    return w.bytes();
  }
  const raw = new DataView(new ArrayBuffer(8 * t.int64.length));
  t.int64.forEach((x, i) => raw.setBigInt64(8 * i, BigInt(x), true));
  w.message(9, new Uint8Array(raw.buffer));
  return w.bytes();
}

/** Protobuf wire format: varint (type 0) and length-delimited (type 2) fields, which is all ONNX's messages need here. */
class ProtoWriter {
  private readonly parts: number[] = [];

  varint(field: number, value: number): void {
    this.raw((field << 3) | 0);
    this.raw(value);
  }

  string(field: number, s: string): void {
    this.message(field, new TextEncoder().encode(s));
  }

  message(field: number, bytes: Uint8Array): void {
    this.raw((field << 3) | 2);
    this.raw(bytes.length);
    for (const b of bytes) this.parts.push(b);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  /** A non-negative integer below 2^53 as a base-128 varint. */
  private raw(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    let v = value;
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
  }
}
