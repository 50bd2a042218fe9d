/**
 * An ONNX causal language model with its KV cache, in the Optimum layout (input_ids, attention_mask, position_ids,
 * past_key_values.{i}.key|value → logits, present.{i}.key|value).
 *
 * Exactness: the target's logits for a position must be bitwise the same however tokens are grouped into calls.
 * Each provider has a call rule (device.ts, measured): on the CPU a call carrying exactly one new token takes MLAS's
 * one-row matmul path and gives different bits, so calls are padded to ≥ 2 tokens; on WebGPU calls start at a
 * multiple of 4 (re-feeding the cached tokens after it) and carry a multiple of 4. Padded slots come after the real
 * ones, are masked in attention_mask, their rows ignored and their K/V cut from the cache before the next call. The
 * same session options are used for every call (optimisation levels give different bits).
 *
 * On WebGPU the cache stays in GPU buffers and is cut there (kvSlicer.ts); elsewhere it is sliced in host memory.
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CALL_RULES, CallShape, Device, executionProviders } from './device';
import { KvType, RowsCache, rowsCache, validateGraph } from './kvLayout';
import { KvPair, KvSlicer } from './kvSlicer';
import { FusedJob, FusedMode, FusedProgress, cpuModelFile, fusedMismatch, rejectFusedCopy } from './fusedModel';
import { LogitsRows, logitsRows } from './logitsRows';
import { CallCosts } from './callCosts';
import { ModelConfig, ModelDirError, OnnxChoice, chooseOnnxFile, readModelConfig, variantOfFile } from './modelDir';

export type { LogitsRows } from './logitsRows';

/** onnxruntime's version (part of the exactness verdict's key). */
export const ORT_VERSION: string = (ort.env as { versions?: { common?: string } }).versions?.common ?? 'unknown';

export interface LoadOptions {
  /** intra-op threads; 0 = onnxruntime's default. */
  threads?: number;
  /** onnx/ variant, e.g. fp32 (model.onnx), fp16, q4f16 (default: the only file, else the device's preferred one). */
  variant?: string;
  /** An explicit .onnx file to load with the folder's config and tokenizer (a copy made elsewhere; wins over `variant`). */
  file?: string;
  /** Execution device (default cpu); its CallRule gives the padding and where the KV cache lives. */
  device?: Device;
  /** Pad every call to at least this many tokens (default: the device's rule; 1 disables padding, e.g. for a drafter). */
  minTokensPerCall?: number;
  /** Pad every call to a multiple of this many tokens (default: the device's rule, e.g. 4 on WebGPU). */
  tokenMultiple?: number;
  /** Start every call at a multiple of this position, re-feeding cached tokens (default: the device's rule). */
  align?: number;
  /** Turns on onnxruntime's profiler, writing `<prefix>_<date>.json` at endProfiling() (the breakdown benchmark). */
  profilePrefix?: string;
  /** On the CPU, load a cached copy with accuracy_level 4 on MatMulNBits nodes that have none (default true; fastQ4.ts). */
  fastQuantizedKernels?: boolean;
  /** On the CPU, load a Llama/Qwen2 file through a cached copy on onnxruntime's fused operators (default true; fusedModel.ts). */
  fusedOps?: boolean;
  /** When that copy is missing: make it now ('wait', default) or load the original and leave it pending ('background'). */
  fusedMode?: FusedMode;
  /** Progress of a copy made now ('wait'). */
  onFusedProgress?: (p: FusedProgress) => void;
  /** With 'background', files up to this size still get their copy first (default fusedModel.ts FUSED_WAIT_MAX_BYTES). */
  fusedWaitMaxBytes?: number;
  /** Cache root for those copies (default lockstepCacheDir()). */
  cacheDir?: string;
}

/** Seconds spent in each part of forward() (the breakdown benchmark reads them; a few clock reads per call). */
export interface ForwardTiming {
  /** Cutting padding / rolled-back steps out of the KV cache before the call. */
  cut: number;
  /** Building the id, position and mask arrays and the feed tensors. */
  feeds: number;
  /** session.run, as seen from JS. */
  run: number;
  /** Taking the present K/V and the logits rows from the outputs. */
  outputs: number;
}

export class CausalLM {
  readonly config: ModelConfig;
  readonly dir: string;
  /** Tokens whose K/V are valid in the cache. */
  private cacheLen = 0;
  /** Time steps in the KV tensors: valid ones, then padding or rolled-back ones not cut yet (≥ cacheLen). */
  private physLen = 0;
  /** The cached tokens, kept only when calls are aligned (they are re-fed from the aligned start). */
  private readonly ids: number[] = [];
  private kv: KvPair[];
  private readonly kvType: KvType;
  private readonly hasLogitsToKeep: boolean;
  private minTokens: number;
  private multiple: number;
  private align: number;
  readonly device: Device;
  /** The .onnx file loaded (the exactness probe keys its cache on it). */
  readonly file: string;
  /** Its variant (fp32 for model.onnx), and why it was picked when the folder held several. */
  readonly variant: string;
  readonly variantNote?: string;
  /** Set for a time-major or head-major graph (kvLayout.ts): the cache is one JS buffer per layer and kind. */
  private readonly tm: RowsCache | null;
  /** Set when the KV cache stays on the device: cuts it there (no CPU round trip). */
  private readonly slicer: KvSlicer | null;
  /** Seconds spent inside session.run, and the number of calls (for the engine-overhead benchmark). */
  runSeconds = 0;
  calls = 0;
  /** The outputs a prefill fetches (everything but the logits). */
  private readonly presentNames: string[];
  /** float16 logits are widened into this buffer, reused across calls (grown when a call returns more). */
  private readonly halfScratch = { buffer: new Float32Array(0) };
  readonly timing: ForwardTiming = { cut: 0, feeds: 0, run: 0, outputs: 0 };
  /** Measured cost of a call by its number of tokens (adaptive γ and the auto drafter read T(k)/T(1)). */
  readonly callCosts = new CallCosts();
  /** Set when a patched copy of the file was loaded (or could not be made): for EngineInfo's notes. */
  loadNote: string | null = null;
  /** The .onnx file the session was created from (the patched copy when there is one; the probe keys on it). */
  loadedFile = '';
  /** The graph computes in float16 (its KV cache is float16): fusedMismatch allows for its rounding. */
  get halfPrecision(): boolean {
    return this.kvType === 'float16';
  }
  /** A fused copy left to make (LoadOptions.fusedMode 'background'): the engine makes it and swaps it in. */
  pendingFused: FusedJob | null = null;

  private constructor(
    private readonly session: ort.InferenceSession,
    dir: string,
    choice: OnnxChoice,
    config: ModelConfig,
    kvType: KvType,
    device: Device,
    slicer: KvSlicer | null,
    opts: LoadOptions,
    tm: RowsCache | null,
  ) {
    this.tm = tm;
    this.dir = dir;
    this.file = choice.file;
    this.variant = choice.variant;
    this.variantNote = choice.note;
    this.config = config;
    this.kvType = kvType;
    this.device = device;
    this.slicer = slicer;
    this.hasLogitsToKeep = session.inputNames.includes('num_logits_to_keep');
    const rule = CALL_RULES[device];
    this.minTokens = Math.max(1, opts.minTokensPerCall ?? rule.minTokensPerCall);
    this.multiple = Math.max(1, opts.tokenMultiple ?? rule.tokenMultiple);
    this.align = Math.max(1, opts.align ?? rule.align);
    this.kv = this.emptyCache();
    this.presentNames = session.outputNames.filter((name) => name !== 'logits');
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<CausalLM> {
    const config = readModelConfig(dir);
    const device = opts.device ?? 'cpu';
    const choice: OnnxChoice = opts.file !== undefined ? { file: opts.file, variant: variantOfFile(path.basename(opts.file)) } : chooseOnnxFile(dir, opts.variant, device);
    const { file, note: loadNote, madeFrom, pending } = device === 'cpu' ? cpuModelFile(dir, choice.file, opts) : { file: choice.file, note: null };
    const onDevice = CALL_RULES[device].kvLocation === 'gpu-buffer';
    const providers = executionProviders(device);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, {
        executionProviders: providers,
        graphOptimizationLevel: 'all',
        intraOpNumThreads: opts.threads ?? 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
        // Logits are read on the CPU every call; the KV cache is only fed back, so it may stay on the device.
        ...(onDevice ? { preferredOutputLocation: presentLocations(config.numLayers) } : {}),
      });
    } catch (e) {
      throw new ModelDirError(`cannot load ${file} on ${device}: ${(e as Error).message.split('\n')[0]}`);
    }
    const { kvType, layout } = validateGraph(session, config, file);
    if (layout !== 'bnsh' && onDevice) {
      await session.release();
      throw new ModelDirError(`${file}: a ${layout} KV cache (a fused copy) runs on the CPU only; load the original file on ${device}`);
    }
    let slicer: KvSlicer | null = null;
    if (onDevice) {
      const { numLayers, numKeyValueHeads, headDim } = config;
      try {
        slicer = await KvSlicer.create({ numLayers, numKeyValueHeads, headDim, type: kvType }, providers, 'gpu-buffer');
      } catch (e) {
        await session.release();
        throw new ModelDirError(`cannot build the KV-cache slicer on ${device}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    const tm = rowsCache(layout, config);
    const model = new CausalLM(session, dir, choice, config, kvType, device, slicer, opts, tm);
    model.loadNote = loadNote;
    model.loadedFile = file;
    model.pendingFused = pending ?? null;
    return madeFrom === undefined ? model : CausalLM.checkedCopy(model, dir, opts);
  }

  /** A fused copy made by this load, checked against its original (fusedModel.ts); the original when they differ. */
  private static async checkedCopy(copy: CausalLM, dir: string, opts: LoadOptions): Promise<CausalLM> {
    const original = await CausalLM.load(dir, { ...opts, fusedOps: false });
    const why = await fusedMismatch(copy, original, copy.config.vocabSize);
    if (why === null) {
      await original.dispose();
      return copy;
    }
    await copy.dispose();
    rejectFusedCopy(copy.loadedFile, why);
    original.loadNote = [original.loadNote, `${path.basename(original.file)}: loaded as it is, its fused-operator copy was dropped: ${why}`].filter(Boolean).join('; ');
    return original;
  }

  /** The call shape in force (the exactness probe tries several on one session). */
  get callRule(): CallShape {
    return { minTokensPerCall: this.minTokens, tokenMultiple: this.multiple, align: this.align };
  }

  /** Changes the call shape; empties the cache, since aligned calls need the cached ids from position 0. */
  setCallRule(rule: CallShape): void {
    this.minTokens = Math.max(1, rule.minTokensPerCall);
    this.multiple = Math.max(1, rule.tokenMultiple);
    this.align = Math.max(1, rule.align);
    this.reset();
  }

  get length(): number {
    return this.cacheLen;
  }

  /**
   * Feeds `tokens` at positions length … length+n−1, appends their K/V to the cache and returns their logits rows.
   * Padding slots are masked in attention_mask; they (and rolled-back positions) stay in the device's cache until the
   * next call cuts it, so each call costs at most one cut. With `align` > 1 a call starts at the aligned position at or
   * below `length` and re-feeds the cached tokens in between, so a position is always computed at the same offset
   * within its call and after an aligned past (what WebGPU's tiled kernels need to give the same bits).
   */
  async forward(tokens: readonly number[]): Promise<LogitsRows> {
    const start = performance.now();
    const out = await this.call(tokens, true);
    const t0 = performance.now();
    this.callCosts.record(tokens.length, (t0 - start) / 1000);
    const rows = logitsRows(out.logits, out.refeed, tokens.length, out.padded, this.halfScratch);
    this.timing.outputs += (performance.now() - t0) / 1000;
    return rows;
  }

  /**
   * forward() for tokens whose logits nobody reads (a prompt's prefill): the logits are not fetched (onnxruntime still
   * computes them, but neither copies ~0.6 MB per row out nor converts them), and a model with `num_logits_to_keep`
   * computes one row of its output layer instead of all (a 256-token chunk of a 151 936 × 896 head: 35 GFLOP).
   * The K/V written are the same bits as forward()'s: the output layer reads the hidden states, never writes them.
   */
  async prefill(tokens: readonly number[]): Promise<void> {
    await this.call(tokens, false);
  }

  private async call(tokens: readonly number[], wantLogits: boolean): Promise<{ logits: ort.Tensor; refeed: number; padded: number }> {
    const n = tokens.length;
    if (n === 0) throw new Error('forward() needs at least one token');
    if (this.cacheLen + n > this.config.maxPositions) {
      throw new Error(`context of ${this.cacheLen + n} tokens exceeds the model's ${this.config.maxPositions} positions`);
    }
    const past = this.cacheLen - (this.cacheLen % this.align);
    const refeed = this.cacheLen - past;
    const real = refeed + n;
    let padded = Math.max(real, this.minTokens);
    padded = Math.ceil(padded / this.multiple) * this.multiple;
    padded = Math.min(padded, this.config.maxPositions - past);
    const tCut = performance.now();
    await this.cutTo(past);
    const tFeeds = performance.now();
    this.timing.cut += (tFeeds - tCut) / 1000;
    const ids = new BigInt64Array(padded);
    const pos = new BigInt64Array(padded);
    const mask = new BigInt64Array(past + padded);
    for (let i = 0; i < padded; i++) {
      const id = i < refeed ? this.ids[past + i] : i < real ? tokens[i - refeed] : tokens[n - 1];
      ids[i] = BigInt(id);
      pos[i] = BigInt(past + i);
    }
    mask.fill(1n, 0, past + real);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [1, padded]),
      attention_mask: new ort.Tensor('int64', mask, [1, past + padded]),
      position_ids: new ort.Tensor('int64', pos, [1, padded]),
    };
    if (this.hasLogitsToKeep) {
      feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.of(BigInt(wantLogits ? padded : 1)), []);
    }
    if (this.tm) this.tm.addFeeds(feeds, past, padded);
    else {
      for (let l = 0; l < this.kv.length; l++) {
        feeds[`past_key_values.${l}.key`] = this.kv[l].key;
        feeds[`past_key_values.${l}.value`] = this.kv[l].value;
      }
    }
    const t0 = performance.now();
    this.timing.feeds += (t0 - tFeeds) / 1000;
    // With device-resident outputs (preferredOutputLocation, WebGPU) onnxruntime-node fails a run that leaves the
    // logits unfetched ("Tensor size mismatch"), so there every output is fetched.
    const fetchAll = wantLogits || this.slicer !== null;
    const out = fetchAll ? await this.session.run(feeds) : await this.session.run(feeds, this.presentNames);
    const t1 = performance.now();
    this.runSeconds += (t1 - t0) / 1000;
    this.timing.run += (t1 - t0) / 1000;
    this.calls++;
    if (this.tm) {
      // Only the real rows are kept: padding never enters the cache.
      this.tm.append(out, past, real, padded);
      this.physLen = past + real;
    } else {
      const next: KvPair[] = [];
      for (let l = 0; l < this.kv.length; l++) next.push({ key: out[`present.${l}.key`], value: out[`present.${l}.value`] });
      this.replaceCache(next);
      this.physLen = past + padded;
    }
    this.cacheLen += n;
    if (this.align > 1) for (const t of tokens) this.ids.push(t);
    this.timing.outputs += (performance.now() - t1) / 1000;
    return { logits: out.logits, refeed, padded };
  }

  /** Ends onnxruntime's profiling (when loaded with profilePrefix): the profile file is written now. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  /** Rolls the cache back to its first `length` tokens (rejected drafts); the K/V are cut at the next call. */
  async truncate(length: number): Promise<void> {
    if (length > this.cacheLen || length < 0) throw new Error(`cannot truncate cache of ${this.cacheLen} to ${length}`);
    this.cacheLen = length;
    if (this.align > 1) this.ids.length = length;
  }

  /** Cuts the KV tensors to their first `length` time steps, on the device when the cache lives there. */
  private async cutTo(length: number): Promise<void> {
    if (length === this.physLen) return;
    if (this.tm) {
      // Rows past `length` are overwritten by the next call's: nothing to move.
      this.tm.length = length;
      this.physLen = length;
      return;
    }
    if (this.slicer) {
      const t0 = performance.now();
      const cut = await this.slicer.cut(this.kv, length);
      this.runSeconds += (performance.now() - t0) / 1000;
      this.replaceCache(cut);
    } else {
      const { numKeyValueHeads: h, headDim: d } = this.config;
      const total = this.physLen;
      for (const pair of this.kv) {
        pair.key = cutTimeInPlace(pair.key, h, total, length, d);
        pair.value = cutTimeInPlace(pair.value, h, total, length, d);
      }
    }
    this.physLen = length;
  }

  reset(): void {
    this.replaceCache(this.emptyCache());
    this.cacheLen = 0;
    this.physLen = 0;
    this.ids.length = 0;
  }

  async dispose(): Promise<void> {
    this.replaceCache([]);
    await this.slicer?.dispose();
    await this.session.release();
  }

  /** Device buffers are not garbage-collected soon enough: the old cache is released as soon as it is replaced. */
  private replaceCache(next: KvPair[]): void {
    if (this.slicer) {
      for (const { key, value } of this.kv) {
        if (key.location === 'gpu-buffer') key.dispose();
        if (value.location === 'gpu-buffer') value.dispose();
      }
    }
    this.kv = next;
  }

  private emptyCache(): KvPair[] {
    const { numLayers, numKeyValueHeads, headDim } = this.config;
    const dims = [1, numKeyValueHeads, 0, headDim];
    const make = (): ort.Tensor =>
      this.kvType === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    return Array.from({ length: numLayers }, () => ({ key: make(), value: make() }));
  }
}

function presentLocations(numLayers: number): Record<string, 'cpu' | 'gpu-buffer'> {
  const where: Record<string, 'cpu' | 'gpu-buffer'> = { logits: 'cpu' };
  for (let l = 0; l < numLayers; l++) {
    where[`present.${l}.key`] = 'gpu-buffer';
    where[`present.${l}.value`] = 'gpu-buffer';
  }
  return where;
}

/**
 * Keeps the first `keep` of `total` time steps of a [1, heads, total, dim] tensor, moving each head's prefix down in
 * the same buffer (memmove; head 0 stays put) and returning a view: no allocation, and only (heads − 1)/heads of the
 * cache is touched. The buffer is the previous call's output (or a view of it), which nothing else reads.
 */
function cutTimeInPlace(t: ort.Tensor, heads: number, total: number, keep: number, dim: number): ort.Tensor {
  const data = t.data as Float32Array | Uint16Array;
  for (let h = 1; h < heads; h++) data.copyWithin(h * keep * dim, h * total * dim, h * total * dim + keep * dim);
  return new ort.Tensor(t.type as 'float32' | 'float16', data.subarray(0, heads * keep * dim), [1, heads, keep, dim]);
}
