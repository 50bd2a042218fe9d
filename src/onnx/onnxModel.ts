/**
 * ONNX ModelProto for graphs of any size: nodes with attributes, several operator-set domains, initializers whose
 * bytes are made on demand, and the external-data layout of files over protobuf's 2 GB limit (tensor bytes in a
 * side file next to the .onnx, its location relative to the model, as `onnx.save(..., save_as_external_data=True)`
 * writes it). Field numbers are those of onnx/onnx.proto.
 */
import * as path from 'node:path';
import { FileSink, LazyBytes, ProtoMessage } from './protoWriter';

export type TensorType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool' | 'float16';
export const TENSOR_TYPE_CODE: Record<TensorType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10 };
export const BYTES_PER: Record<TensorType, number> = { float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float16: 2 };

export type Dim = number | string;
export interface ValueInfo {
  name: string;
  type: TensorType;
  dims: Dim[];
}

export type AttrValue = number | bigint | string | number[] | { float: number };
export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

export interface Initializer {
  name: string;
  type: TensorType;
  dims: number[];
  data: LazyBytes;
}

export interface ModelSpec {
  graphName: string;
  producer: string;
  opsets: { domain: string; version: number }[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers: Initializer[];
}

export interface WriteOptions {
  /** Side file for tensor bytes (a file name, written next to the model); absent = everything inline. */
  externalData?: string;
  /** Tensors smaller than this stay inline even with external data (onnx's default threshold is 1024). */
  externalThreshold?: number;
}

/** Files written and their sizes. */
export interface Written {
  model: number;
  data?: number;
}

const MAX_PROTOBUF = 2 ** 31 - 1;

export function lazyOf(b: Uint8Array): LazyBytes {
  return { length: b.length, make: () => b };
}

/** Writes `spec` to `file` (and its external-data file), streaming tensor bytes; refuses an inline model over 2 GB. */
export function writeModel(file: string, spec: ModelSpec, opts: WriteOptions = {}): Written {
  const threshold = opts.externalThreshold ?? 1024;
  const external = new Map<Initializer, number>();
  let dataSize = 0;
  if (opts.externalData !== undefined) {
    for (const t of spec.initializers) {
      if (t.data.length < threshold) continue;
      external.set(t, dataSize);
      dataSize += t.data.length;
    }
  }
  const model = modelProto(spec, (t) => {
    const offset = external.get(t);
    return offset === undefined ? undefined : { location: opts.externalData as string, offset };
  });
  const size = model.size();
  if (size > MAX_PROTOBUF) {
    throw new Error(`${path.basename(file)} would be ${size} bytes, over protobuf's 2 GB limit: write it with external data`);
  }
  const out: Written = { model: size };
  if (opts.externalData !== undefined) {
    const sink = new FileSink(path.join(path.dirname(file), opts.externalData));
    for (const t of external.keys()) sink.write(t.data.make());
    sink.close();
    out.data = sink.written;
  }
  const sink = new FileSink(file);
  model.emit(sink.write);
  sink.close();
  return out;
}

type ExternalOf = (t: Initializer) => { location: string; offset: number } | undefined;

export function modelProto(spec: ModelSpec, externalOf: ExternalOf = () => undefined): ProtoMessage {
  const graph = new ProtoMessage();
  for (const n of spec.nodes) graph.message(1, nodeProto(n));
  graph.string(2, spec.graphName);
  for (const t of spec.initializers) graph.message(5, tensorProto(t, externalOf(t)));
  for (const v of spec.inputs) graph.message(11, valueInfoProto(v));
  for (const v of spec.outputs) graph.message(12, valueInfoProto(v));
  const model = new ProtoMessage().varint(1, 8).string(2, spec.producer).message(7, graph);
  for (const o of spec.opsets) model.message(8, new ProtoMessage().string(1, o.domain).varint(2, o.version));
  return model;
}

function nodeProto(n: NodeSpec): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.op);
  for (const [name, v] of Object.entries(n.attrs ?? {})) m.message(5, attributeProto(name, v));
  if (n.domain) m.string(7, n.domain);
  return m;
}

/** AttributeProto: FLOAT 1, INT 2, STRING 3, INTS 7. */
function attributeProto(name: string, v: AttrValue): ProtoMessage {
  const a = new ProtoMessage().string(1, name);
  if (typeof v === 'string') return a.bytes(4, new TextEncoder().encode(v)).varint(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) a.varint(8, x);
    return a.varint(20, 7);
  }
  if (typeof v === 'object') return a.float(2, v.float).varint(20, 1);
  return a.varint(3, v).varint(20, 2);
}

function tensorProto(t: Initializer, ext: { location: string; offset: number } | undefined): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.varint(1, d);
  m.varint(2, TENSOR_TYPE_CODE[t.type]).string(8, t.name);
  const expected = t.dims.reduce((a, b) => a * b, 1) * BYTES_PER[t.type];
  if (t.data.length !== expected) {
    throw new Error(`initializer ${t.name}: ${t.data.length} bytes for dims [${t.dims.join(', ')}] of ${t.type}`);
  }
  if (ext === undefined) return m.lazy(9, t.data);
  const entry = (k: string, v: string) => new ProtoMessage().string(1, k).string(2, v);
  m.message(13, entry('location', ext.location));
  m.message(13, entry('offset', String(ext.offset)));
  m.message(13, entry('length', String(t.data.length)));
  return m.varint(14, 1);
}

function valueInfoProto(v: ValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtoMessage().varint(1, d) : new ProtoMessage().string(2, d));
  const tensor = new ProtoMessage().varint(1, TENSOR_TYPE_CODE[v.type]).message(2, shape);
  return new ProtoMessage().string(1, v.name).message(2, new ProtoMessage().message(1, tensor));
}
