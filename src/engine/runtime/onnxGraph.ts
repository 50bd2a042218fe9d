/**
 * The tiny helper graphs the engine builds at run time, such as the KV-cache slicer that lets a device-resident cache
 * be cut back without a round trip through the CPU. Encoded by the project's ONNX writer (src/onnx/), which also
 * writes the multi-gigabyte stand-in models.
 */
import { lazyOf, modelProto } from '../../onnx/onnxModel';

export type OnnxElemType = 'float32' | 'float16' | 'int64';

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
}

export interface OnnxInitializer {
  name: string;
  /** int64 values (the only initializers the helper graphs need). */
  int64: number[];
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
  return modelProto({
    graphName: g.name,
    producer: 'lockstep',
    opsets: [{ domain: '', version: g.opset }],
    inputs: g.inputs,
    outputs: g.outputs,
    nodes: g.nodes,
    initializers: g.initializers.map((t) => {
      const raw = new BigInt64Array(t.int64.map(BigInt));
      return { name: t.name, type: 'int64', dims: t.dims, data: lazyOf(new Uint8Array(raw.buffer)) };
    }),
  }).encode();
}
