/**
 * `lockstep export-fused --model DIR --out DIR`: an Optimum-layout Llama/Qwen2 folder (fp32 onnx/model.onnx) → a folder
 * whose model.onnx runs on onnxruntime's fused operators (src/onnx/fusedExport.ts). The engine does the same on its
 * own for the CPU (a cached copy, `--no-fused` to turn it off); this command makes a copy to keep, bench or ship.
 */
import * as path from 'node:path';
import * as A from './args';
import { UsageError } from './args';
import { CliIo, EXIT_STATUS_HELP } from './io';
import { exportFusedDir } from '../onnx/fusedExport';
import { findOnnxFile } from '../engine/runtime/modelDir';
import { CausalLM } from '../engine/runtime/model';

export const exportFusedDefs = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
  model: A.single(A.str, 'DIR', 'the model folder (config.json, tokenizer files, onnx/*.onnx)'),
  variant: A.single(A.str, 'NAME', 'which file of onnx/ to rebuild: fp32 (model.onnx, the default), fp16, q4, q4f16 (a q4 file keeps its own 4-bit blocks)'),
  out: A.single(A.str, 'DIR', 'the folder to write (created; files in it are replaced)'),
  cache: A.single(A.choice(['head-major', 'time-major', 'bnsh'] as const), 'LAYOUT', 'KV cache: head-major (default; what the engine loads: the whole buffer in, only the new rows out), time-major (the earlier layout: a Transpose per layer and kind) or bnsh (Optimum\'s inputs and outputs)'),
  q4: A.flag('4-bit weights: MatMulNBits, blocks of 32, accuracy_level 4 (written as onnx/model_q4.onnx; the embedding stays fp32)'),
  'block-size': A.single(A.numberIn({ min: 16, max: 256, integer: true, describe: 'one of 16, 32, 64, 128, 256' }), 'N', 'with --q4: the 4-bit block size (default 32); other weights than the q4 download, so other text'),
  'q4-head': A.flag('quantize only a float head to 4 bits (MatMulNBits, blocks of --block-size, accuracy_level 4): other weights, so other text'),
  compare: A.flag('after the export, compare the copy\'s logits with the source file\'s on 64 fixed tokens: max |Δ|, RMS, argmax agreement'),
};

export function exportFusedHelp(): string {
  return 'Usage: lockstep export-fused --model DIR --out DIR [--variant NAME] [--cache head-major|time-major|bnsh] [--q4]\n' +
    'Rebuilds a Llama or Qwen2 model exported by Optimum (fp32, fp16, q4, q4f16) on onnxruntime\'s fused operators: GroupQueryAttention\n' +
    'with rotary embedding, SkipSimplifiedLayerNormalization, packed Q/K/V. With --cache bnsh it keeps Optimum\'s inputs\n' +
    'and outputs; the default head-major cache is what the engine loads. Config and tokenizer files are copied and\n' +
    'fused.json says where it came from.\n\n' +
    `Options:\n${A.describeOptions(exportFusedDefs)}\n\n${EXIT_STATUS_HELP}`;
}

export async function exportFusedCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, exportFusedDefs);
  if (o.help) {
    io.stdout(`${exportFusedHelp()}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (o.model === undefined || o.out === undefined) throw new UsageError('export-fused needs --model DIR and --out DIR');
  const t0 = performance.now();
  const dir = path.resolve(io.cwd, o.model);
  const src = findOnnxFile(dir, o.variant ?? 'fp32');
  const block = o['block-size'] ?? 32;
  if (o['block-size'] !== undefined && ((!o.q4 && !o['q4-head']) || (block & (block - 1)) !== 0)) {
    throw new UsageError('--block-size takes a power of two from 16 to 256, with --q4 or --q4-head');
  }
  const q4 = { blockSize: block, accuracyLevel: 4 };
  const r = exportFusedDir(dir, path.resolve(io.cwd, o.out), {
    cache: o.cache ?? 'head-major', ...(o.q4 ? { q4 } : {}), ...(o['q4-head'] ? { q4Head: q4 } : {}),
  }, src);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  // Peak RSS of this process: the export streams one tensor at a time (before --compare loads any model).
  io.stderr(`${r.nodes} nodes, ${(r.bytes / 1e6).toFixed(1)} MB, ${s} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
  if (o.compare) io.stderr(`${formatComparison(await compareLogits(src, r.file, dir))}\n`);
  io.stdout(`${path.dirname(path.dirname(r.file))}\n`);
  return 0;
}

export interface LogitComparison {
  tokens: number;
  maxAbs: number;
  /** RMS of the difference ÷ RMS of the source's logits. */
  relativeRms: number;
  argmaxAgree: number;
}

/** The copy's logits against the source file's (loaded as it is) on 64 fixed tokens in one call each. */
export async function compareLogits(srcFile: string, copyFile: string, dir: string): Promise<LogitComparison> {
  const load = (file: string) => CausalLM.load(dir, { threads: 1, fusedOps: false, fastQuantizedKernels: false, file });
  const [a, b] = [await load(srcFile), await load(copyFile)];
  try {
    const ids = Array.from({ length: 64 }, (_, i) => (i * 7919 + 13) % Math.min(a.config.vocabSize - 8, 150000));
    const [ra, rb] = [await a.forward(ids), await b.forward(ids)];
    let maxAbs = 0;
    let sq = 0;
    let dsq = 0;
    let agree = 0;
    for (let i = 0; i < ids.length; i++) {
      const x = ra.row(i);
      const y = rb.row(i);
      let ax = 0;
      let ay = 0;
      for (let k = 0; k < x.length; k++) {
        const d = y[k] - x[k];
        maxAbs = Math.max(maxAbs, Math.abs(d));
        sq += x[k] * x[k];
        dsq += d * d;
        if (x[k] > x[ax]) ax = k;
        if (y[k] > y[ay]) ay = k;
      }
      if (ax === ay) agree++;
    }
    return { tokens: ids.length, maxAbs, relativeRms: Math.sqrt(dsq / sq), argmaxAgree: agree };
  } finally {
    await a.dispose();
    await b.dispose();
  }
}

function formatComparison(c: LogitComparison): string {
  return `against the source: max |Δlogit| ${c.maxAbs.toPrecision(3)}, RMS ${(100 * c.relativeRms).toFixed(2)} % of the source's, argmax equal on ${c.argmaxAgree}/${c.tokens} tokens`;
}
