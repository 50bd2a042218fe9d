/**
 * The three KV-cache layouts a causal-LM file may have, told apart by its outputs, and the engine's side of the last two:
 *   - 'bnsh' (Optimum's, and the fused copy's with `cache: 'bnsh'`): past_key_values.{i}.key|value
 *     [batch, kv_heads, past, head_dim] in, present.{i}.* (past + new) out; model.ts keeps the returned presents and
 *     cuts them back (kvSlicer.ts on the device).
 *   - 'time-major' (the engine's fused copy, src/onnx/fusedGraph.ts): past_key_values.{i}.* [batch, past, kv_heads,
 *     head_dim] in, present_rows.{i}.* [batch, kv_heads, sequence, head_dim] out (only the call's rows). The cache is
 *     one growing buffer per layer and kind (TimeMajorCache): the past is fed as a view of its first rows (no copy),
 *     the call's real rows are copied in, and padding or rolled-back rows are dropped by setting the length —
 *     onnxruntime-node then copies a few rows out per call instead of the whole cache (docs/performance.md, "Where a
 *     target call's time goes").
 *   - 'head-major' (the engine's fused copy now): past_key_values.{i}.* are the whole buffer [1, kv_heads,
 *     capacity, head_dim] (HeadMajorCache), valid rows first in each head; GroupQueryAttention reads only the
 *     first past rows of each head (from seqlens_k), so the graph needs no Transpose of the past per call (16 on the
 *     shipped target, ~10 % of a step); the call's rows come out as one output, present_rows [2 × layers, kv_heads,
 *     sequence, head_dim] (layer i's key at 2i, value at 2i + 1): one copy into JS instead of 2 × layers.
 */
import * as ort from 'onnxruntime-node';
import { ModelConfig, ModelDirError } from './modelDir';

export type KvType = 'float32' | 'float16';
export type KvLayout = 'bnsh' | 'time-major' | 'head-major';

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
  const meta = (session as unknown as { inputMetadata?: ReadonlyArray<InputMeta> }).inputMetadata;
  const past0 = meta?.find((m) => m.name === 'past_key_values.0.key');
  const layout: KvLayout = outputs.has('present_rows') ? 'head-major' : outputs.has('present_rows.0.key') ? 'time-major' : 'bnsh';
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
      if (layout !== 'head-major' && !outputs.has(`${presentName}.${l}.${kv}`)) problems.push(`missing output "${presentName}.${l}.${kv}"`);
    }
  }
  const allowed = new Set(['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep']);
  for (const n of session.inputNames) {
    if (!allowed.has(n) && !n.startsWith('past_key_values.')) problems.push(`unexpected input "${n}"`);
  }
  let kvType: KvType = 'float32';
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
    if (layout === 'head-major' && typeof shape[2] === 'number') {
      // The engine sizes the buffer to the cache (HeadMajorCache); copies made before that had it fixed.
      problems.push(`a head-major past_key_values has a fixed length (${shape[2]} rows); export it again with this version (lockstep export-fused)`);
    }
  }
  if (layout !== 'bnsh' && kvType !== 'float32') problems.push(`a ${layout} cache must be float32`);
  if (problems.length > 0) {
    throw new ModelDirError(`${file} does not fit the expected causal-LM layout:\n  - ${problems.join('\n  - ')}`);
  }
  return { kvType, layout };
}

/** The engine's side of a row layout: a cache in JS buffers, fed to each call and given the call's real rows. */
export interface RowsCache {
  /** Rows of the buffers that hold valid K/V. */
  length: number;
  /** Adds past_key_values.{i}.* for a call of `width` rows (padding included) after the first `past` (past ≤ length). */
  addFeeds(feeds: Record<string, ort.Tensor>, past: number, width: number): void;
  /** Copies the first `rows` of a call's present rows (`width` rows a head, padding last) to rows past…. */
  append(out: ort.InferenceSession.OnnxValueMapType, past: number, rows: number, width: number): void;
}

export function rowsCache(layout: KvLayout, c: Pick<ModelConfig, 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'maxPositions'>): RowsCache | null {
  return layout === 'time-major' ? new TimeMajorCache(c) : layout === 'head-major' ? new HeadMajorCache(c) : null;
}

const kvName = (k: number): string => `past_key_values.${k >> 1}.${k & 1 ? 'value' : 'key'}`;
const rowsName = (k: number): string => `present_rows.${k >> 1}.${k & 1 ? 'value' : 'key'}`;

/** The time-major cache: per layer and kind one [max_positions, kv_heads, head_dim] float32 buffer and a length. */
export class TimeMajorCache implements RowsCache {
  private readonly buffers: Float32Array[];
  length = 0;

  constructor(private readonly c: Pick<ModelConfig, 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'maxPositions'>) {
    const size = c.maxPositions * c.numKeyValueHeads * c.headDim;
    this.buffers = Array.from({ length: 2 * c.numLayers }, () => new Float32Array(size));
  }

  /** The past as views of the buffers' first `past` rows. */
  addFeeds(feeds: Record<string, ort.Tensor>, past: number): void {
    const { numKeyValueHeads: h, headDim: d } = this.c;
    this.buffers.forEach((b, k) => {
      feeds[kvName(k)] = new ort.Tensor('float32', b.subarray(0, past * h * d), [1, past, h, d]);
    });
  }

  append(out: ort.InferenceSession.OnnxValueMapType, past: number, rows: number, width: number): void {
    const { numKeyValueHeads: h, headDim: d } = this.c;
    this.buffers.forEach((b, k) => {
      const src = out[rowsName(k)].data as Float32Array;
      for (let t = 0; t < rows; t++) {
        for (let j = 0; j < h; j++) b.set(src.subarray((j * width + t) * d, (j * width + t + 1) * d), ((past + t) * h + j) * d);
      }
    });
    this.length = past + rows;
  }
}

/**
 * Rows a head-major buffer is sized in. GroupQueryAttention reads and writes a present as long as the whole buffer on
 * every call, so the buffer follows the cache (rounded up to this step) rather than the model's context: 32 768
 * positions for Qwen2.5-Coder would make every call touch the full context's K/V.
 */
export const HEAD_MAJOR_STEP = 256;

/**
 * The head-major cache: per layer and kind one [kv_heads, capacity, head_dim] float32 buffer, fed whole every call
 * (the same tensors while the capacity holds: onnxruntime-node wraps them without a copy) — the graph's seqlens_k says
 * how many rows of each head are valid, so rows past `length` (padding, rolled-back drafts) are never read. The
 * capacity is the call's rows rounded up to `step`, grown when short and halved when less than half is needed;
 * the rows are the same bits at any capacity (test/engine/runtime/fused.test.ts).
 */
export class HeadMajorCache implements RowsCache {
  private buffers: Float32Array[] = [];
  private tensors: ort.Tensor[] = [];
  private capacity = 0;
  length = 0;

  constructor(
    private readonly c: Pick<ModelConfig, 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'maxPositions'>,
    private readonly step = HEAD_MAJOR_STEP,
  ) {}

  addFeeds(feeds: Record<string, ort.Tensor>, past: number, width: number): void {
    this.fit(past + width);
    this.tensors.forEach((t, k) => {
      feeds[kvName(k)] = t;
    });
  }

  append(out: ort.InferenceSession.OnnxValueMapType, past: number, rows: number, width: number): void {
    const { numKeyValueHeads: h, headDim: d } = this.c;
    const m = this.capacity;
    const src = out.present_rows.data as Float32Array;
    this.buffers.forEach((b, k) => {
      const at = k * h * width;
      for (let j = 0; j < h; j++) b.set(src.subarray((at + j * width) * d, (at + j * width + rows) * d), (j * m + past) * d);
    });
    this.length = past + rows;
  }

  /** Resizes the buffers for a call that needs `rows` rows, keeping the valid ones (length ≤ rows). */
  private fit(rows: number): void {
    const want = Math.min(this.c.maxPositions, Math.ceil(rows / this.step) * this.step);
    if (want <= this.capacity && want * 2 > this.capacity) return;
    const { numLayers: L, numKeyValueHeads: h, headDim: d } = this.c;
    const keep = Math.min(this.length, want);
    const old = this.buffers;
    this.buffers = Array.from({ length: 2 * L }, (_, k) => {
      const b = new Float32Array(h * want * d);
      if (keep > 0) for (let j = 0; j < h; j++) b.set(old[k].subarray(j * this.capacity * d, (j * this.capacity + keep) * d), j * want * d);
      return b;
    });
    this.capacity = want;
    this.tensors = this.buffers.map((b) => new ort.Tensor('float32', b, [1, h, want, d]));
  }
}
