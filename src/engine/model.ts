/**
 * An ONNX causal language model with its KV cache, in the Optimum layout (input_ids, attention_mask, position_ids,
 * past_key_values.{i}.key|value → logits, present.{i}.key|value).
 *
 * Exactness: the target's logits for a position must be bitwise the same however tokens are grouped into calls.
 * On onnxruntime's CPU provider a call that carries exactly one new token takes MLAS's one-row matmul path and gives
 * different bits (shared/notes, measured); calls of ≥ 2 tokens agree bitwise. So every call is padded up to the
 * provider's rule (`minTokensPerCall`, `tokenMultiple`) with slots masked out in attention_mask; the padded slots come
 * after the real ones, their rows are ignored and their K/V are cut from the cache. The same session options are used
 * for every call (optimisation levels give different bits).
 */
import * as ort from 'onnxruntime-node';
import { ModelConfig, ModelDirError, findOnnxFile, readModelConfig } from './modelDir';

export interface LoadOptions {
  /** intra-op threads; 0 = onnxruntime's default. */
  threads?: number;
  /** onnx/ variant, e.g. fp32 (model.onnx), fp16, q4f16. */
  variant?: string;
  executionProviders?: string[];
  /** Pad every call to at least this many tokens (2 on CPU; 1 disables padding, e.g. for a drafter). */
  minTokensPerCall?: number;
  /** Pad every call to a multiple of this many tokens (e.g. 4 on WebGPU). */
  tokenMultiple?: number;
}

/** Logits of the real (unpadded) rows of one call; `row(i)` is a view, valid until the next call. */
export interface LogitsRows {
  readonly count: number;
  readonly width: number;
  row(i: number): Float32Array;
}

type KvType = 'float32' | 'float16';

interface KvPair {
  key: ort.Tensor;
  value: ort.Tensor;
}

export class CausalLM {
  readonly config: ModelConfig;
  readonly dir: string;
  /** Tokens whose K/V are in the cache. */
  private cacheLen = 0;
  private kv: KvPair[];
  private readonly kvType: KvType;
  private readonly hasLogitsToKeep: boolean;
  private readonly minTokens: number;
  private readonly multiple: number;
  /** Seconds spent inside session.run, and the number of calls (for the engine-overhead benchmark). */
  runSeconds = 0;
  calls = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    dir: string,
    config: ModelConfig,
    kvType: KvType,
    opts: LoadOptions,
  ) {
    this.dir = dir;
    this.config = config;
    this.kvType = kvType;
    this.hasLogitsToKeep = session.inputNames.includes('num_logits_to_keep');
    this.minTokens = Math.max(1, opts.minTokensPerCall ?? 2);
    this.multiple = Math.max(1, opts.tokenMultiple ?? 1);
    this.kv = this.emptyCache();
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<CausalLM> {
    const config = readModelConfig(dir);
    const file = findOnnxFile(dir, opts.variant ?? 'fp32');
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        executionProviders: opts.executionProviders ?? ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: opts.threads ?? 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
    } catch (e) {
      throw new ModelDirError(`cannot load ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
    const kvType = validateGraph(session, config, file);
    return new CausalLM(session, dir, config, kvType, opts);
  }

  get length(): number {
    return this.cacheLen;
  }

  /**
   * Feeds `tokens` at positions length … length+n−1, appends their K/V to the cache and returns their logits rows.
   */
  async forward(tokens: readonly number[]): Promise<LogitsRows> {
    const n = tokens.length;
    if (n === 0) throw new Error('forward() needs at least one token');
    if (this.cacheLen + n > this.config.maxPositions) {
      throw new Error(`context of ${this.cacheLen + n} tokens exceeds the model's ${this.config.maxPositions} positions`);
    }
    let padded = Math.max(n, this.minTokens);
    padded = Math.ceil(padded / this.multiple) * this.multiple;
    const past = this.cacheLen;
    const ids = new BigInt64Array(padded);
    const pos = new BigInt64Array(padded);
    const mask = new BigInt64Array(past + padded);
    for (let i = 0; i < padded; i++) {
      ids[i] = BigInt(i < n ? tokens[i] : tokens[n - 1]);
      pos[i] = BigInt(past + i);
    }
    mask.fill(1n, 0, past + n);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [1, padded]),
      attention_mask: new ort.Tensor('int64', mask, [1, past + padded]),
      position_ids: new ort.Tensor('int64', pos, [1, padded]),
    };
    if (this.hasLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.of(BigInt(padded)), []);
    for (let l = 0; l < this.kv.length; l++) {
      feeds[`past_key_values.${l}.key`] = this.kv[l].key;
      feeds[`past_key_values.${l}.value`] = this.kv[l].value;
    }
    const t0 = performance.now();
    const out = await this.session.run(feeds);
    this.runSeconds += (performance.now() - t0) / 1000;
    this.calls++;
    const next: KvPair[] = [];
    for (let l = 0; l < this.kv.length; l++) {
      next.push({ key: out[`present.${l}.key`], value: out[`present.${l}.value`] });
    }
    this.kv = next;
    this.cacheLen = past + padded;
    if (padded !== n) this.truncate(past + n);
    return logitsRows(out.logits, n, padded);
  }

  /** Rolls the cache back to its first `length` tokens (rejected drafts, padding). */
  truncate(length: number): void {
    if (length > this.cacheLen || length < 0) throw new Error(`cannot truncate cache of ${this.cacheLen} to ${length}`);
    if (length === this.cacheLen) return;
    const { numKeyValueHeads: h, headDim: d } = this.config;
    const total = this.cacheLen;
    this.kv = this.kv.map(({ key, value }) => ({
      key: sliceTime(key, h, total, length, d),
      value: sliceTime(value, h, total, length, d),
    }));
    this.cacheLen = length;
  }

  reset(): void {
    this.kv = this.emptyCache();
    this.cacheLen = 0;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  private emptyCache(): KvPair[] {
    const { numLayers, numKeyValueHeads, headDim } = this.config;
    const dims = [1, numKeyValueHeads, 0, headDim];
    const make = (): ort.Tensor =>
      this.kvType === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    return Array.from({ length: numLayers }, () => ({ key: make(), value: make() }));
  }
}

/** Keeps the first `keep` of `total` time steps of a [1, heads, total, dim] tensor. */
function sliceTime(t: ort.Tensor, heads: number, total: number, keep: number, dim: number): ort.Tensor {
  const src = t.data as Float32Array | Uint16Array;
  const dst = src instanceof Float32Array ? new Float32Array(heads * keep * dim) : new Uint16Array(heads * keep * dim);
  for (let h = 0; h < heads; h++) {
    dst.set(src.subarray(h * total * dim, h * total * dim + keep * dim), h * keep * dim);
  }
  return new ort.Tensor(t.type as 'float32' | 'float16', dst, [1, heads, keep, dim]);
}

function logitsRows(t: ort.Tensor, n: number, padded: number): LogitsRows {
  const dims = t.dims;
  const rows = dims[dims.length - 2];
  const width = dims[dims.length - 1];
  // Exports with num_logits_to_keep, or ones that return only the last row, return fewer rows than fed.
  const first = rows - padded;
  let data: Float32Array;
  if (t.type === 'float32') data = t.data as Float32Array;
  else if (t.type === 'float16') data = halfToFloat(t.data as Uint16Array);
  else throw new ModelDirError(`unsupported logits type ${t.type}`);
  if (first < 0 && n > 1) throw new ModelDirError(`model returned ${rows} logits rows for ${padded} tokens`);
  return {
    count: n,
    width,
    row(i: number): Float32Array {
      if (i < 0 || i >= n) throw new RangeError(`row ${i} of ${n}`);
      const r = first + i;
      return data.subarray(r * width, (r + 1) * width);
    },
  };
}

function halfToFloat(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i];
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    out[i] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}

function validateGraph(session: ort.InferenceSession, config: ModelConfig, file: string): KvType {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
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
      if (!outputs.has(`present.${l}.${kv}`)) problems.push(`missing output "present.${l}.${kv}"`);
    }
  }
  const allowed = new Set(['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep']);
  for (const n of session.inputNames) {
    if (!allowed.has(n) && !n.startsWith('past_key_values.')) problems.push(`unexpected input "${n}"`);
  }
  let kvType: KvType = 'float32';
  const meta = (session as unknown as { inputMetadata?: ReadonlyArray<{ name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> }> }).inputMetadata;
  const past0 = meta?.find((m) => m.name === 'past_key_values.0.key');
  if (past0?.isTensor) {
    if (past0.type === 'float16') kvType = 'float16';
    else if (past0.type !== 'float32') problems.push(`past_key_values type ${past0.type} is not supported`);
    const shape = past0.shape ?? [];
    const heads = shape[1];
    const dim = shape[3];
    if (typeof heads === 'number' && heads !== config.numKeyValueHeads) {
      problems.push(`past_key_values have ${heads} heads but config.json says num_key_value_heads = ${config.numKeyValueHeads}`);
    }
    if (typeof dim === 'number' && dim !== config.headDim) {
      problems.push(`past_key_values have head size ${dim} but config.json implies ${config.headDim}`);
    }
  }
  if (problems.length > 0) {
    throw new ModelDirError(`${file} does not fit the expected causal-LM layout:\n  - ${problems.join('\n  - ')}`);
  }
  return kvType;
}
