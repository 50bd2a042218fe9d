/**
 * Model folders for the exactness tests, built from the shipped target's tokenizer (src/onnx writes the graph):
 * - an "int8"-like stand-in whose rows depend on the other rows of their call, the way dynamic quantization's one
 *   activation scale per call does (embeddings rounded to a coarse grid scaled by the call's largest value), with
 *   logits that also depend on the cached K/V (so a prompt's grouping reaches later tokens);
 * - folders holding chosen variants (copies of the shipped target's model.onnx under variant names).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lazyOf, modelProto, type Initializer, type NodeSpec } from '../../src/onnx/onnxModel';
import { TARGET_DIR } from './models';

const V = 4096;
const D = 4;

function weights(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 4;
  }
  return out;
}

/** The ONNX bytes of the call-dependent stand-in (1 layer, 1 KV head of size 4, vocabulary 4096). */
export function callDependentModel(): Uint8Array {
  const node = (op: string, inputs: string[], outputs: string[], attrs?: Record<string, number | number[]>): NodeSpec => ({
    op, inputs, outputs, name: `${op}_${outputs[0]}`, attrs,
  });
  const f32 = (name: string, data: Float32Array, dims: number[]): Initializer => ({
    name, type: 'float32', dims, data: lazyOf(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
  });
  return modelProto({
    graphName: 'call_dependent',
    producer: 'lockstep-tests',
    opsets: [{ domain: '', version: 17 }],
    inputs: [
      { name: 'input_ids', type: 'int64', dims: [1, 'seq'] },
      { name: 'attention_mask', type: 'int64', dims: [1, 'total'] },
      { name: 'position_ids', type: 'int64', dims: [1, 'seq'] },
      { name: 'past_key_values.0.key', type: 'float32', dims: [1, 1, 'past', D] },
      { name: 'past_key_values.0.value', type: 'float32', dims: [1, 1, 'past', D] },
    ],
    outputs: [
      { name: 'logits', type: 'float32', dims: [1, 'seq', V] },
      { name: 'present.0.key', type: 'float32', dims: [1, 1, 'total', D] },
      { name: 'present.0.value', type: 'float32', dims: [1, 1, 'total', D] },
    ],
    initializers: [
      f32('emb', weights(V * D, 1), [V, D]),
      f32('wout', weights(D * V, 2), [D, V]),
      f32('two', Float32Array.of(2), []),
      { name: 'axis1', type: 'int64', dims: [1], data: lazyOf(new Uint8Array(BigInt64Array.of(1n).buffer)) },
    ],
    nodes: [
      node('Gather', ['emb', 'input_ids'], ['e']),
      // One scale for the whole call, as DynamicQuantizeLinear computes it.
      node('Abs', ['e'], ['abs']),
      node('ReduceMax', ['abs'], ['scale']),
      node('Div', ['e', 'scale'], ['unit']),
      node('Mul', ['unit', 'two'], ['unit2']),
      node('Round', ['unit2'], ['grid']),
      node('Div', ['grid', 'two'], ['grid2']),
      node('Mul', ['grid2', 'scale'], ['q']),
      node('Unsqueeze', ['q', 'axis1'], ['k']),
      node('Concat', ['past_key_values.0.key', 'k'], ['present.0.key'], { axis: 2 }),
      node('Concat', ['past_key_values.0.value', 'k'], ['present.0.value'], { axis: 2 }),
      node('ReduceMean', ['present.0.key'], ['ctx'], { axes: [2], keepdims: 1 }),
      node('Add', ['k', 'ctx'], ['h']),
      node('Squeeze', ['h', 'axis1'], ['h3']),
      node('MatMul', ['h3', 'wout'], ['logits']),
    ],
  }).encode();
}

function baseFolder(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(TARGET_DIR, f), path.join(dir, f));
  fs.mkdirSync(path.join(dir, 'onnx'));
  return dir;
}

/** A model folder holding the call-dependent stand-in as onnx/model_int8.onnx. */
export function inexactModelDir(): string {
  const dir = baseFolder('lockstep-inexact-');
  const target = JSON.parse(fs.readFileSync(path.join(TARGET_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
  const config = {
    ...target, hidden_size: D, num_hidden_layers: 1, num_attention_heads: 1, num_key_value_heads: 1, head_dim: D,
    lockstep: { name: 'call-dependent stand-in (tests)' },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'onnx', 'model_int8.onnx'), callDependentModel());
  return dir;
}

/** A folder with the shipped target's weights under the given variant names (e.g. ['q4'] → onnx/model_q4.onnx). */
export function variantsDir(variants: string[]): string {
  const dir = baseFolder('lockstep-variants-');
  fs.copyFileSync(path.join(TARGET_DIR, 'config.json'), path.join(dir, 'config.json'));
  for (const v of variants) {
    const name = v === 'fp32' ? 'model.onnx' : `model_${v}.onnx`;
    fs.copyFileSync(path.join(TARGET_DIR, 'onnx', 'model.onnx'), path.join(dir, 'onnx', name));
  }
  return dir;
}
