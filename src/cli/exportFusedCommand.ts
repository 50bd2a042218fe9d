/**
 * `lockstep export-fused --model DIR --out DIR`: an Optimum-layout Llama/Qwen2 folder (fp32 onnx/model.onnx) → a folder
 * whose model.onnx runs on onnxruntime's fused operators (src/onnx/fusedExport.ts). The engine does the same on its
 * own for the CPU (a cached copy, `--no-fused` to turn it off); this command makes a copy to keep, bench or ship.
 */
import * as path from 'node:path';
import * as A from './args';
import { UsageError } from './args';
import { CliIo } from './io';
import { exportFusedDir } from '../onnx/fusedExport';
import { findOnnxFile } from '../engine/modelDir';

export const exportFusedDefs = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
  model: A.single(A.str, 'DIR', 'the model folder (config.json, tokenizer files, onnx/*.onnx)'),
  variant: A.single(A.str, 'NAME', 'which file of onnx/ to rebuild: fp32 (model.onnx, the default), fp16, q4, q4f16 (a q4 file keeps its own 4-bit blocks)'),
  out: A.single(A.str, 'DIR', 'the folder to write (created; files in it are replaced)'),
  cache: A.single(A.choice(['head-major', 'time-major', 'bnsh'] as const), 'LAYOUT', 'KV cache: head-major (default; what the engine loads: the whole buffer in, only the new rows out), time-major (the earlier layout: a Transpose per layer and kind) or bnsh (Optimum\'s inputs and outputs)'),
  q4: A.flag('4-bit weights: MatMulNBits, blocks of 32, accuracy_level 4 (written as onnx/model_q4.onnx; the embedding stays fp32)'),
};

export function exportFusedHelp(): string {
  return 'Usage: lockstep export-fused --model DIR --out DIR [--variant NAME] [--cache head-major|time-major|bnsh] [--q4]\n' +
    'Rebuilds a Llama or Qwen2 model exported by Optimum (fp32, fp16, q4, q4f16) on onnxruntime\'s fused operators: GroupQueryAttention\n' +
    'with rotary embedding, SkipSimplifiedLayerNormalization, packed Q/K/V. With --cache bnsh it keeps Optimum\'s inputs\n' +
    'and outputs; the default head-major cache is what the engine loads. Config and tokenizer files are copied and\n' +
    'fused.json says where it came from.\n\n' +
    `Options:\n${A.describeOptions(exportFusedDefs)}`;
}

export function exportFusedCommand(argv: string[], io: CliIo): number {
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
  const r = exportFusedDir(dir, path.resolve(io.cwd, o.out), { cache: o.cache ?? 'head-major', ...(o.q4 ? { q4: { blockSize: 32, accuracyLevel: 4 } } : {}) }, src);
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  io.stderr(`${r.nodes} nodes, ${(r.bytes / 1e6).toFixed(1)} MB, ${s} s\n`);
  io.stdout(`${path.dirname(path.dirname(r.file))}\n`);
  return 0;
}
