/**
 * Cuts a device-resident KV cache back to its first `keep` time steps on the device itself.
 *
 * With the WebGPU provider the present.* tensors stay in GPU buffers (reading them back from Node would cost a
 * download per call, and `getData()` on a gpu-buffer tensor aborts the process in onnxruntime-node 1.30). Rolling back
 * rejected drafts or padding slots therefore runs a one-node-per-tensor graph — Slice(cache, [0], [keep], axes=[2]) —
 * on the same provider, its outputs again kept on the device. Slice copies bits, so the cut cache is exact.
 */
import * as ort from 'onnxruntime-node';
import { OnnxElemType, OnnxNode, OnnxValueInfo, encodeModel } from './onnxGraph';

export interface KvShape {
  numLayers: number;
  numKeyValueHeads: number;
  headDim: number;
  type: 'float32' | 'float16';
}

export interface KvPair {
  key: ort.Tensor;
  value: ort.Tensor;
}

/** The slicer graph for a cache shape: inputs keep, k0, v0, k1 …; outputs k0_cut, v0_cut … */
export function slicerGraph(shape: KvShape): Uint8Array {
  const t: OnnxElemType = shape.type;
  const dims = (len: string): (number | string)[] => [1, shape.numKeyValueHeads, len, shape.headDim];
  const inputs: OnnxValueInfo[] = [{ name: 'keep', type: 'int64', dims: [1] }];
  const outputs: OnnxValueInfo[] = [];
  const nodes: OnnxNode[] = [];
  for (let l = 0; l < shape.numLayers; l++) {
    for (const kind of ['k', 'v']) {
      const name = `${kind}${l}`;
      inputs.push({ name, type: t, dims: dims('total') });
      outputs.push({ name: `${name}_cut`, type: t, dims: dims('keep') });
      nodes.push({ op: 'Slice', name: `slice_${name}`, inputs: [name, 'zero', 'keep', 'time_axis'], outputs: [`${name}_cut`] });
    }
  }
  return encodeModel({
    name: 'lockstep_kv_slicer',
    inputs,
    outputs,
    nodes,
    initializers: [
      { name: 'zero', int64: [0], dims: [1] },
      { name: 'time_axis', int64: [2], dims: [1] },
    ],
    opset: 13,
  });
}

export class KvSlicer {
  private constructor(private readonly session: ort.InferenceSession, private readonly numLayers: number) {}

  /** A slicer on `executionProviders`; its outputs stay on the device when `location` is 'gpu-buffer'. */
  static async create(shape: KvShape, executionProviders: string[], location: 'cpu' | 'gpu-buffer'): Promise<KvSlicer> {
    const preferredOutputLocation: Record<string, 'cpu' | 'gpu-buffer'> = {};
    for (let l = 0; l < shape.numLayers; l++) {
      preferredOutputLocation[`k${l}_cut`] = location;
      preferredOutputLocation[`v${l}_cut`] = location;
    }
    const session = await ort.InferenceSession.create(slicerGraph(shape), {
      executionProviders,
      graphOptimizationLevel: 'all',
      preferredOutputLocation,
    });
    return new KvSlicer(session, shape.numLayers);
  }

  /** The first `keep` time steps of every layer's key and value, computed where the tensors live. */
  async cut(kv: readonly KvPair[], keep: number): Promise<KvPair[]> {
    const feeds: Record<string, ort.Tensor> = { keep: new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), [1]) };
    for (let l = 0; l < this.numLayers; l++) {
      feeds[`k${l}`] = kv[l].key;
      feeds[`v${l}`] = kv[l].value;
    }
    const out = await this.session.run(feeds);
    const next: KvPair[] = [];
    for (let l = 0; l < this.numLayers; l++) next.push({ key: out[`k${l}_cut`], value: out[`v${l}_cut`] });
    return next;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
