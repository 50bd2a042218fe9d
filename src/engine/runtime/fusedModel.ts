/**
 * On the CPU the engine loads a Llama/Qwen2 file (fp32, fp16, q4 or q4f16, any size) through a copy rebuilt on
 * onnxruntime's fused operators (src/onnx/fusedGraph.ts: GroupQueryAttention, SkipSimplifiedLayerNormalization; ~100
 * kernels a call instead of ~600 for the shipped target), made once into the cache folder, keyed by content. The export
 * streams one tensor at a time (decoderSource.ts), a q4 file keeps its own 4-bit blocks (no fp32 original needed). The
 * copy's KV cache is head-major (kvLayout.ts: the engine's buffer goes in whole, only the call's new rows come out);
 * its logits differ from the original's in the last bits, so the exactness probe keys its verdict on the copy. A file
 * that is not a decoder we know (int8, already fused) is loaded as it is.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockstepCacheDir } from './cacheDir';
import { fastQ4File } from './fastQ4';
import { ExportProgress, NotConvertibleError, exportFusedFile, notConvertible } from '../../onnx/fusedExport';
import type { HfConfig } from '../../onnx/llamaWeights';
import { indexOnnx } from '../../onnx/onnxIndex';
import { fusedKey, fusedRoot, markSkipped, modelFiles, pruneReplaced, recordSource, removeAbandoned } from './fusedCache';

export interface FusedFileResult {
  /** The file to load: the fused copy, or the original. */
  file: string;
  /** What happened, for EngineInfo's notes (null when the file was not a candidate). */
  note: string | null;
  /** Set when the fused copy was made by this call: it is checked against the original before use (fusedMismatch). */
  madeFrom?: string;
  /** Set when the copy is still to be made (mode 'background'): the original is loaded now, the copy made by runFusedJob. */
  pending?: FusedJob;
}

/** A fused copy to make: the source, and where the finished copy goes (`copy`, inside its key folder). */
export interface FusedJob {
  dir: string;
  file: string;
  copy: string;
  /** The source's bytes (graph + external data), for the progress line. */
  bytes: number;
}

/** How far a fused copy is: bytes of the copy written so far, of `total`. */
export interface FusedProgress {
  file: string;
  done: number;
  total: number;
}

/**
 * 'wait': make a missing copy now, then load it (the CLI and benchmarks: one command, one model); 'background': load
 * the original now and leave the copy to runFusedJob (the engine process: completions start at once, the copy is
 * swapped in when it is ready and checked).
 */
export type FusedMode = 'wait' | 'background';

/** Files up to this size (graph + external data) get their copy before loading even in 'background' mode. */
export const FUSED_WAIT_MAX_BYTES = 256 * 1024 * 1024;

/** The cached fused copy of `file` (a decoder .onnx in `dir`/onnx), made now ('wait') or left to runFusedJob ('background'). */
export function fusedFile(
  dir: string, file: string, cacheDir: string = lockstepCacheDir(), mode: FusedMode = 'wait', onProgress?: (p: FusedProgress) => void,
  waitMaxBytes = FUSED_WAIT_MAX_BYTES,
): FusedFileResult {
  if (!fs.existsSync(path.join(dir, 'config.json'))) return { file, note: null };
  const root = fusedRoot(cacheDir);
  let key: string;
  try {
    key = fusedKey(dir, file);
  } catch (e) {
    return { file, note: `${path.basename(file)}: loaded as it is, no fused-operator copy (${(e as Error).message.split('\n')[0]})` };
  }
  const copy = path.join(root, key, 'model.onnx');
  if (fs.existsSync(copy)) {
    recordSource(path.dirname(copy), file);
    return { file: copy, note: `${path.basename(file)}: using its fused-operator copy (cached: ${copy})` };
  }
  // A file found not to be a candidate once (int8, already fused, another architecture) is not read again.
  if (fs.existsSync(path.join(root, `${key}.skip`))) return { file, note: null };
  // Whether it is a candidate at all is read off the graph's structure (no weights), so a file that is not (int8,
  // already fused) is never announced as being copied.
  const why = whyNotCandidate(dir, file);
  if (why !== null) {
    markSkipped(path.join(root, key), why);
    return { file, note: null };
  }
  const job: FusedJob = { dir, file, copy, bytes: modelFiles(file).reduce((n, f) => n + fs.statSync(f).size, 0) };
  // A small file's copy takes well under a second (the shipped target's 0.3 s): made before the first completion, so
  // that a session's completions all come from one file; a big one is made while the original serves.
  if (mode === 'background' && job.bytes > waitMaxBytes) {
    return { file, note: `${path.basename(file)}: loaded as it is while its fused-operator copy is made in the background`, pending: job };
  }
  try {
    const nodes = makeFusedCopy(job, onProgress && ((done, total) => onProgress({ file, done, total })));
    return { file: copy, note: `${path.basename(file)}: using a fused-operator copy (${nodes} nodes, made now: ${copy})`, madeFrom: file };
  } catch (e) {
    if (e instanceof NotConvertibleError) return { file, note: null };
    return { file, note: `${path.basename(file)}: loaded as it is, no fused-operator copy (${(e as Error).message.split('\n')[0]})` };
  }
}

/**
 * Makes `job.copy`: exported into a temporary folder named after this process, renamed into place when whole. A
 * process killed halfway leaves only its temporary folder (removed by the next job, once that process is gone), so a
 * half-written copy is never loaded. A file that is not a candidate gets a `.skip` marker and NotConvertibleError.
 */
export function makeFusedCopy(job: FusedJob, progress?: ExportProgress, tmp = tempDirFor(job)): number {
  const keyDir = path.dirname(job.copy);
  const root = path.dirname(keyDir);
  fs.mkdirSync(root, { recursive: true });
  removeAbandoned(root);
  try {
    const r = exportFusedFile(job.dir, job.file, path.join(tmp, 'model.onnx'), {}, progress);
    fs.rmSync(keyDir, { recursive: true, force: true });
    fs.renameSync(tmp, keyDir);
    recordSource(keyDir, job.file);
    pruneReplaced(root, keyDir, job.file);
    return r.nodes;
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof NotConvertibleError) markSkipped(keyDir, e.message);
    throw e;
  }
}

/** Why `file` is not rebuilt (int8, already fused, another architecture), or null; an unreadable file is left to onnxruntime. */
function whyNotCandidate(dir: string, file: string): string | null {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as HfConfig;
    return notConvertible(indexOnnx(file), config);
  } catch (e) {
    return `not readable as an ONNX decoder (${(e as Error).message.split('\n')[0]})`;
  }
}

function tempDirFor(job: FusedJob): string {
  return path.join(path.dirname(path.dirname(job.copy)), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** What the export worker (fusedWorker.ts) posts. */
export type FusedWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; nodes: number }
  | { type: 'error'; message: string; notConvertible: boolean };

/** A copy being made off the engine's thread: `done` settles with its node count; `cancel` stops it and removes its bytes. */
export interface RunningFusedJob {
  done: Promise<number>;
  cancel(): Promise<void>;
}

/**
 * Makes `job`'s copy in a worker thread of this process (fusedWorker.ts), so that the engine keeps serving from the
 * original meanwhile. Rejects with NotConvertibleError for a file that is not a candidate.
 */
export function runFusedJob(job: FusedJob, onProgress?: (p: FusedProgress) => void): RunningFusedJob {
  const tmp = tempDirFor(job);
  const worker = new Worker(path.join(__dirname, 'fusedWorker.js'), { workerData: { job, tmp } });
  let cancelled = false;
  const done = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: FusedWorkerMessage) => {
      if (m.type === 'progress') onProgress?.({ file: job.file, done: m.done, total: m.total });
      else if (m.type === 'done') resolve(m.nodes);
      else reject(m.notConvertible ? new NotConvertibleError(m.message) : new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      fs.rmSync(tmp, { recursive: true, force: true });
      reject(new Error(cancelled ? 'cancelled' : `the export stopped (exit code ${code})`));
    });
  });
  done.catch(() => undefined);
  return {
    done,
    cancel: async () => {
      cancelled = true;
      await worker.terminate();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** What fusedMismatch needs of a loaded model (CausalLM has it; typed here so this module does not import model.ts). */
export interface RowsModel {
  forward(tokens: readonly number[]): Promise<{ row(i: number): Float32Array }>;
  reset(): void;
  /** The graph computes in float16 (fp16, q4f16 files): its own logits carry float16 rounding. */
  readonly halfPrecision?: boolean;
  /** The .onnx file it loaded. */
  readonly loadedFile?: string;
}

/** Largest |Δlogit| allowed between a new copy and its original: measured 8e-6 (shipped target) and 1.6e-5 (Qwen2
 * stand-in); a weight read into the wrong place, or a config.json that disagrees with the graph, gives O(1) (0.80 for
 * a rope θ that disagrees with the graph, on the shipped target). */
export const FUSED_CHECK_TOLERANCE = 1e-2;
/**
 * An original whose activations are rounded coarsely — float16 (fp16, q4f16) or int8 inside MatMulNBits with
 * accuracy_level 4 (q4) — differs from its copy wherever a last-bit change in an activation moves a rounding step, so
 * a few logits differ visibly while the rest agree; weights read into the wrong place change them all. For such an
 * original the check is on the root-mean-square difference, allowed up to this fraction of the original's RMS logit.
 * Measured: 0.96 % for the 0.5B stand-in's q4 (max |Δ| 0.236 of a largest |logit| 19.8, the 12 argmaxes equal);
 * ci stand-in, max |Δ| 0.013 for fp16 and 0.27 for q4f16.
 */
export const FUSED_CHECK_NOISY_RMS_FRACTION = 0.02;

/** Whether `original` rounds its activations coarsely (float16, or int8 in MatMulNBits): see FUSED_CHECK_NOISY_RMS_FRACTION. */
export function coarseActivations(original: RowsModel): boolean {
  if (original.halfPrecision) return true;
  if (!original.loadedFile) return false;
  try {
    return indexOnnx(original.loadedFile).nodes.some((n) => n.opType === 'MatMulNBits');
  } catch {
    return false;
  }
}

/**
 * Null when `copy` gives `original`'s logits (within FUSED_CHECK_TOLERANCE) on a fixed 12-token sequence fed as 8 + 4,
 * else why not. Run once, when a copy is made: the exporter finds weights by the names exporters give them, and a
 * model it misreads must fall back to its own file rather than complete with other weights.
 */
export async function fusedMismatch(copy: RowsModel, original: RowsModel, vocab: number): Promise<string | null> {
  const ids = Array.from({ length: 12 }, (_, i) => (i * 7919 + 13) % vocab);
  let worst = 0;
  let sumSq = 0;
  let sumDiffSq = 0;
  for (const m of [copy, original]) m.reset();
  for (const [from, to] of [[0, 8], [8, 12]]) {
    const a = await copy.forward(ids.slice(from, to));
    const rowsA = Array.from({ length: to - from }, (_, i) => a.row(i).slice());
    const b = await original.forward(ids.slice(from, to));
    rowsA.forEach((r, i) => {
      const o = b.row(i);
      for (let k = 0; k < r.length; k++) {
        const d = Math.abs(r[k] - o[k]);
        worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
        sumSq += o[k] * o[k];
        sumDiffSq += d * d;
      }
    });
  }
  for (const m of [copy, original]) m.reset();
  if (worst <= FUSED_CHECK_TOLERANCE) return null;
  if (coarseActivations(original) && Number.isFinite(worst)) {
    const rel = Math.sqrt(sumDiffSq / Math.max(sumSq, 1e-30));
    if (rel <= FUSED_CHECK_NOISY_RMS_FRACTION) return null;
    return `its logits differ from the original's by ${(100 * rel).toFixed(2)} % RMS (over ${100 * FUSED_CHECK_NOISY_RMS_FRACTION} % for a file with coarse activations; max |Δ| ${worst.toPrecision(3)})`;
  }
  return `its logits differ from the original's by up to ${worst.toPrecision(3)} (over ${FUSED_CHECK_TOLERANCE})`;
}

/** Drops a copy that failed fusedMismatch, and marks its file so that it is not made again until the file changes. */
export function rejectFusedCopy(copy: string, why: string): void {
  const keyDir = path.dirname(copy);
  fs.rmSync(keyDir, { recursive: true, force: true });
  try {
    fs.writeFileSync(`${keyDir}.skip`, `${why}\n`);
  } catch {
    // checked again next time
  }
}


/**
 * The file the CPU loads for `file`: its fused copy (fp32, fp16, q4 and q4f16 Llama/Qwen2 files), else its
 * accuracy_level-4 copy (other q4 graphs, fastQ4.ts), else the file itself, with a note. With mode 'background' a
 * missing fused copy is left pending and the fast-q4 copy (or the file) is loaded meanwhile.
 */
export function cpuModelFile(
  dir: string, file: string,
  opts: {
    fastQuantizedKernels?: boolean; fusedOps?: boolean; cacheDir?: string; fusedMode?: FusedMode; onFusedProgress?: (p: FusedProgress) => void;
    fusedWaitMaxBytes?: number;
  },
): FusedFileResult {
  let fused: FusedFileResult = { file, note: null };
  if (opts.fusedOps !== false) {
    fused = fusedFile(dir, file, opts.cacheDir, opts.fusedMode ?? 'wait', opts.onFusedProgress, opts.fusedWaitMaxBytes);
    if (fused.file !== file) return fused;
  }
  let out: FusedFileResult = { file, note: null };
  if (opts.fastQuantizedKernels !== false) {
    try {
      out = fastQ4File(file, opts.cacheDir);
    } catch (e) {
      out = { file, note: `${file}: not checked for MatMulNBits accuracy_level (${(e as Error).message})` };
    }
  }
  const note = [fused.note, out.note].filter(Boolean).join('; ') || null;
  return { file: out.file, note, ...(fused.pending ? { pending: fused.pending } : {}) };
}
