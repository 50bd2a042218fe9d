/**
 * The two KV-cache layouts a causal-LM file may have, told apart by its outputs, and the engine's side of the second:
 *   - 'bnsh' (Optimum's, and the fused copy's with `cache: 'bnsh'`): past_key_values.{i}.key|value
 *     [batch, kv_heads, past, head_dim] in, present.{i}.* (past + new) out; model.ts keeps the returned presents and
 *     cuts them back (kvSlicer.ts on the device).
 *   - 'time-major' (the engine's fused copy, src/onnx/fusedGraph.ts): past_key_values.{i}.* [batch, past, kv_heads,
 *     head_dim] in, present_rows.{i}.* [batch, kv_heads, sequence, head_dim] out (only the call's rows). The cache is
 *     one growing buffer per layer and kind (TimeMajorCache): the past is fed as a view of its first rows (no copy),
 *     the call's real rows are copied in, and padding or rolled-back rows are dropped by setting the length —
 *     onnxruntime-node then copies a few rows out per call instead of the whole cache (README "Where a target call's
 *     time goes").
 */
import * as ort from 'onnxruntime-node';
import { ModelConfig, ModelDirError } from './modelDir';

export type KvType = 'float32' | 'float16';
export type KvLayout = 'bnsh' | 'time-major';

interface InputMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

/** Checks the graph's names and cache shape against config.json; its KV type and layout, or a ModelDirError. */
export function validateGraph(session: ort.InferenceSession, config: ModelConfig, file: string): { kvType: KvType; layout: KvLayout } {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const layout: KvLayout = outputs.has('present_rows.0.key') ? 'time-major' : 'bnsh';
  const presentName = layout === 'time-major' ? 'present_rows' : 'present';
  const problems: string[] = [];
  for (const name of ['input_ids', 'attention_mask', 'position_ids']) {
    if (!inputs.has(name)) problems.push(`missing input "${name}"`);
  }
  if (!outputs.has('logits')) problems.push('missing output "logits"');
  if (inputs.has('use_cache_branch')) problems.push('merged decoder (use_cache_branch) exports are not supported; use a model.onnx with past_key_values inputs');
  const pastCount = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
  if (pastCount !== config.numLayers) {
    problems.push(`graph has ${pastCount} past_key_values.*.key inputs but config.json says ${config.numLayers} layers`);
  }
  for (let l = 0; l < config.numLayers; l++) {
    for (const kv of ['key', 'value']) {
      if (!inputs.has(`past_key_values.${l}.${kv}`)) problems.push(`missing input "past_key_values.${l}.${kv}"`);
      if (!outputs.has(`${presentName}.${l}.${kv}`)) problems.push(`missing output "${presentName}.${l}.${kv}"`);
    }
  }
  const allowed = new Set(['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep']);
  for (const n of session.inputNames) {
    if (!allowed.has(n) && !n.startsWith('past_key_values.')) problems.push(`unexpected input "${n}"`);
  }
  let kvType: KvType = 'float32';
  const meta = (session as unknown as { inputMetadata?: ReadonlyArray<InputMeta> }).inputMetadata;
  const past0 = meta?.find((m) => m.name === 'past_key_values.0.key');
  if (past0?.isTensor) {
    if (past0.type === 'float16') kvType = 'float16';
    else if (past0.type !== 'float32') problems.push(`past_key_values type ${past0.type} is not supported`);
    const shape = past0.shape ?? [];
    const heads = shape[layout === 'time-major' ? 2 : 1];
    const dim = shape[3];
    if (typeof heads === 'number' && heads !== config.numKeyValueHeads) {
      problems.push(`past_key_values have ${heads} heads but config.json says num_key_value_heads = ${config.numKeyValueHeads}`);
    }
    if (typeof dim === 'number' && dim !== config.headDim) {
      problems.push(`past_key_values have head size ${dim} but config.json implies ${config.headDim}`);
    }
  }
  if (layout === 'time-major' && kvType !== 'float32') problems.push('a time-major cache must be float32');
  if (problems.length > 0) {
    throw new ModelDirError(`${file} does not fit the expected causal-LM layout:\n  - ${problems.join('\n  - ')}`);
  }
  return { kvType, layout };
}

/** The time-major cache: per layer and kind one [max_positions, kv_heads, head_dim] float32 buffer and a length. */
export class TimeMajorCache {
  private readonly buffers: Float32Array[];
  /** Rows of the buffers that hold valid K/V. */
  length = 0;

  constructor(private readonly c: Pick<ModelConfig, 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'maxPositions'>) {
    const size = c.maxPositions * c.numKeyValueHeads * c.headDim;
    this.buffers = Array.from({ length: 2 * c.numLayers }, () => new Float32Array(size));
  }

  /** Adds past_key_values.{i}.* as views of the first `past` rows (past ≤ length). */
  addFeeds(feeds: Record<string, ort.Tensor>, past: number): void {
    const { numKeyValueHeads: h, headDim: d } = this.c;
    this.buffers.forEach((b, k) => {
      feeds[`past_key_values.${k >> 1}.${k & 1 ? 'value' : 'key'}`] = new ort.Tensor('float32', b.subarray(0, past * h * d), [1, past, h, d]);
    });
  }

  /** Copies the first `rows` of a call's present_rows (of `width` rows, [1, kv_heads, width, head_dim]) to rows past…. */
  append(out: ort.InferenceSession.OnnxValueMapType, past: number, rows: number, width: number): void {
    const { numKeyValueHeads: h, headDim: d } = this.c;
    this.buffers.forEach((b, k) => {
      const src = out[`present_rows.${k >> 1}.${k & 1 ? 'value' : 'key'}`].data as Float32Array;
      for (let t = 0; t < rows; t++) {
        for (let j = 0; j < h; j++) b.set(src.subarray((j * width + t) * d, (j * width + t + 1) * d), ((past + t) * h + j) * d);
      }
    });
    this.length = past + rows;
  }
}
