/**
 * On the CPU the engine loads an fp32 Llama/Qwen2 file through a copy rebuilt on onnxruntime's fused operators
 * (src/onnx/fusedGraph.ts: GroupQueryAttention, SkipSimplifiedLayerNormalization; ~100 kernels a call instead of
 * ~600 for the shipped target), made once into the cache folder like fastQ4.ts's copies. The copy's KV cache is
 * head-major (kvLayout.ts: the engine's buffer goes in whole, only the call's new rows come out); its logits differ from
 * the original's in the last bits, so the exactness probe keys its verdict on the copy (README "Where a target call's
 * time goes"). A file that is not an fp32 decoder we know is loaded as it is.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockstepCacheDir } from './cacheDir';
import { fastQ4File } from './fastQ4';
import { FUSED_EXPORT_VERSION, NotConvertibleError, exportFusedFile } from '../onnx/fusedExport';

export interface FusedFileResult {
  /** The file to load: the fused copy, or the original. */
  file: string;
  /** What happened, for EngineInfo's notes (null when the file was not a candidate). */
  note: string | null;
  /** Set when the fused copy was made by this call: it is checked against the original before use (fusedMismatch). */
  madeFrom?: string;
}

/**
 * The largest model (graph + external data) copied automatically. The export holds every weight in memory, several
 * times over while it lays the graph out (measured: 14 GB peak for the 2.5 GB fp32 0.5B stand-in), which must not
 * take the engine down at load; bigger files load as they are, and `lockstep export-fused` makes a copy on request.
 */
export const FUSED_AUTO_MAX_BYTES = 512 * 1024 * 1024;

/** The cached fused copy of `file` (model.onnx in `dir`), made now if missing; the original when it cannot be made. */
export function fusedFile(dir: string, file: string, cacheDir: string = lockstepCacheDir(), maxBytes = FUSED_AUTO_MAX_BYTES): FusedFileResult {
  if (path.basename(file) !== 'model.onnx' || !fs.existsSync(path.join(dir, 'config.json'))) return { file, note: null };
  const bytes = modelBytes(file);
  if (bytes > maxBytes) {
    return {
      file,
      note: `${path.basename(file)}: loaded as it is, no fused-operator copy made automatically for ${(bytes / 2 ** 30).toFixed(2)} GiB ` +
        `(over ${(maxBytes / 2 ** 20).toFixed(0)} MiB: the export needs several times that in memory); ` +
        '`lockstep export-fused --model <dir> --out <dir>` makes one to load as a model folder',
    };
  }
  const st = fs.statSync(file);
  const config = fs.statSync(path.join(dir, 'config.json'));
  const pathDir = path.join(cacheDir, 'fused', sha(path.resolve(file)).slice(0, 16));
  const key = sha(`${FUSED_EXPORT_VERSION}:${st.size}:${st.mtimeMs}:${config.mtimeMs}`).slice(0, 16);
  const copy = path.join(pathDir, key, 'model.onnx');
  if (fs.existsSync(copy)) return { file: copy, note: `${path.basename(file)}: using its fused-operator copy (cached: ${copy})` };
  // A file found not to be a candidate once (quantized, already fused) is not read again.
  const skip = path.join(pathDir, `${key}.skip`);
  if (fs.existsSync(skip)) return { file, note: null };
  const tmp = path.join(pathDir, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    const r = exportFusedFile(dir, file, path.join(tmp, 'model.onnx'));
    fs.rmSync(path.join(pathDir, key), { recursive: true, force: true });
    fs.renameSync(tmp, path.join(pathDir, key));
    for (const other of fs.readdirSync(pathDir)) {
      if (other !== key && other !== `${key}.skip` && !other.startsWith('.tmp-')) fs.rmSync(path.join(pathDir, other), { recursive: true, force: true });
    }
    return { file: copy, note: `${path.basename(file)}: using a fused-operator copy (${r.nodes} nodes, made now: ${copy})`, madeFrom: file };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof NotConvertibleError) {
      try {
        fs.mkdirSync(pathDir, { recursive: true });
        fs.writeFileSync(skip, `${e.message}\n`);
      } catch {
        // read again next time
      }
      return { file, note: null };
    }
    return { file, note: `${path.basename(file)}: loaded as it is, no fused-operator copy (${(e as Error).message.split('\n')[0]})` };
  }
}

/** The graph file's bytes and its external data's (files next to it named after it: model.onnx_data, model.onnx.data). */
function modelBytes(file: string): number {
  const base = path.basename(file);
  const d = path.dirname(file);
  return fs.readdirSync(d).filter((f) => f.startsWith(base)).reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0);
}

/** What fusedMismatch needs of a loaded model (CausalLM has it; typed here so this module does not import model.ts). */
export interface RowsModel {
  forward(tokens: readonly number[]): Promise<{ row(i: number): Float32Array }>;
  reset(): void;
}

/** Largest |Δlogit| allowed between a new copy and its original: measured 8e-6 (shipped target) and 1.6e-5 (Qwen2
 * stand-in); a weight read into the wrong place, or a config.json that disagrees with the graph, gives O(1). */
export const FUSED_CHECK_TOLERANCE = 1e-2;

/**
 * Null when `copy` gives `original`'s logits (within FUSED_CHECK_TOLERANCE) on a fixed 12-token sequence fed as 8 + 4,
 * else why not. Run once, when a copy is made: the exporter finds weights by the names exporters give them, and a
 * model it misreads must fall back to its own file rather than complete with other weights.
 */
export async function fusedMismatch(copy: RowsModel, original: RowsModel, vocab: number): Promise<string | null> {
  const ids = Array.from({ length: 12 }, (_, i) => (i * 7919 + 13) % vocab);
  let worst = 0;
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
      }
    });
  }
  for (const m of [copy, original]) m.reset();
  return worst <= FUSED_CHECK_TOLERANCE ? null : `its logits differ from the original's by up to ${worst.toPrecision(3)} (over ${FUSED_CHECK_TOLERANCE})`;
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

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The file the CPU loads for `file`: its accuracy_level-4 copy (q4, fastQ4.ts) or its fused copy (fp32), with a note. */
export function cpuModelFile(dir: string, file: string, opts: { fastQuantizedKernels?: boolean; fusedOps?: boolean; cacheDir?: string }): FusedFileResult {
  let out: FusedFileResult = { file, note: null };
  if (opts.fastQuantizedKernels !== false) {
    try {
      out = fastQ4File(file, opts.cacheDir);
    } catch (e) {
      out = { file, note: `${file}: not checked for MatMulNBits accuracy_level (${(e as Error).message})` };
    }
  }
  if (out.file === file && opts.fusedOps !== false) {
    const fused = fusedFile(dir, file, opts.cacheDir);
    return fused.note === null ? out : { ...fused, note: [out.note, fused.note].filter(Boolean).join('; ') };
  }
  return out;
}
