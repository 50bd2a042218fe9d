/**
 * `lockstep export-fused`: an Optimum-layout Llama/Qwen2 folder (config.json + onnx/model.onnx, fp32) → a folder with
 * the same config and tokenizer files and onnx/model.onnx rebuilt on onnxruntime's fused operators (fusedGraph.ts),
 * plus `fused.json` saying where it came from. The KV cache is head-major (what the engine loads) unless `cache` says
 * 'time-major' or 'bnsh' (fusedGraph.ts); 'bnsh' keeps the Optimum inputs and outputs exactly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HfConfig } from './llamaWeights';
import { FUSED_PRODUCER, FusedOptions, buildFusedGraph, fusedShape } from './fusedGraph';
import { NotRebuildable, decoderSource } from './decoderSource';
import { writeModel } from './onnxModel';
import { OnnxIndex, indexOnnx } from './onnxIndex';

/** Bumped when the exported graph changes (cached copies made by an older version are then made again). */
export const FUSED_EXPORT_VERSION = 5;
export const FUSED_MARKER = 'fused.json';

/** The file is not one this exporter rebuilds (already fused, quantized, another architecture): not a failure. */
export class NotConvertibleError extends Error {}

export interface FusedExportResult {
  file: string;
  nodes: number;
  bytes: number;
}

/**
 * Why `w` cannot be rebuilt (already fused, int8 or another quantization, not a decoder we know), or null when it can:
 * fp32, fp16, and 4-bit MatMulNBits files (q4, q4f16) are.
 */
export function notConvertible(w: OnnxIndex, c: HfConfig): string | null {
  if (c.model_type !== undefined && c.model_type !== 'llama' && c.model_type !== 'qwen2') return `model_type ${c.model_type} (only llama and qwen2)`;
  const ops = new Set(w.nodes.map((n) => n.opType));
  if (ops.has('GroupQueryAttention')) return 'already uses GroupQueryAttention';
  if (w.nodes.some((n) => n.inputs.includes('num_logits_to_keep'))) return 'has a num_logits_to_keep input, which the fused graph does not carry';
  for (const q of ['MatMulInteger', 'DequantizeLinear', 'DynamicQuantizeLinear', 'GatherBlockQuantized', 'MatMulBnb4']) {
    if (ops.has(q)) return `quantized with ${q} (fp32, fp16 and 4-bit MatMulNBits files are rebuilt)`;
  }
  return null;
}

/** Called as the copy's bytes are written: bytes so far, bytes in all. */
export type ExportProgress = (done: number, total: number) => void;

/**
 * Rebuilds `srcFile` (a decoder whose config.json is in `srcDir`) as `outFile`, streaming: each weight is read from
 * the source when it is written, so memory holds about one tensor (and its transform) at a time.
 */
export function exportFusedFile(srcDir: string, srcFile: string, outFile: string, opts: FusedOptions = {}, progress?: ExportProgress): FusedExportResult {
  const c = JSON.parse(fs.readFileSync(path.join(srcDir, 'config.json'), 'utf8')) as HfConfig;
  const w = indexOnnx(srcFile);
  const why = notConvertible(w, c);
  if (why) throw new NotConvertibleError(`${srcFile}: not rebuilt: ${why}`);
  let spec;
  try {
    spec = buildFusedGraph(fusedShape(c), decoderSource(w, c), { cache: 'head-major', ...opts });
  } catch (e) {
    if (e instanceof NotRebuildable) throw new NotConvertibleError(`${srcFile}: not rebuilt: ${e.message}`);
    throw e;
  }
  const weightBytes = spec.initializers.reduce((a, t) => a + t.data.length, 0);
  if (progress) {
    let done = 0;
    spec = {
      ...spec,
      initializers: spec.initializers.map((t) => ({
        ...t,
        data: {
          length: t.data.length,
          make: () => {
            const b = t.data.make();
            done += b.length;
            progress(done, weightBytes);
            return b;
          },
        },
      })),
    };
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  // Over ~1.5 GB the tensors go to a side file (protobuf's 2 GB limit), as Optimum's exports do.
  const external = weightBytes > 1.5e9 ? `${path.basename(outFile)}_data` : undefined;
  const written = writeModel(outFile, spec, external ? { externalData: external } : {});
  return { file: outFile, nodes: spec.nodes.length, bytes: written.model + (written.data ?? 0) };
}

/**
 * The whole folder: `srcFile` (default onnx/model.onnx; any fp32, fp16, q4 or q4f16 file of the folder) rebuilt as
 * onnx/model.onnx, or onnx/model_q4.onnx when its weights are 4-bit (a q4 source, or `opts.q4`), every top-level file
 * (config, tokenizer, …) copied, fused.json added.
 */
export function exportFusedDir(srcDir: string, outDir: string, opts: FusedOptions = {}, srcFile = path.join(srcDir, 'onnx', 'model.onnx'), progress?: ExportProgress): FusedExportResult {
  if (!fs.existsSync(srcFile)) throw new Error(`${srcDir}: no ${path.relative(srcDir, srcFile)}`);
  if (path.resolve(srcDir) === path.resolve(outDir)) throw new Error('--out must be another folder');
  const q4 = opts.q4 !== undefined || indexOnnx(srcFile).nodes.some((n) => n.opType === 'MatMulNBits');
  const result = exportFusedFile(srcDir, srcFile, path.join(outDir, 'onnx', q4 ? 'model_q4.onnx' : 'model.onnx'), opts, progress);
  for (const e of fs.readdirSync(srcDir, { withFileTypes: true })) {
    if (e.isFile() && e.name !== FUSED_MARKER) fs.copyFileSync(path.join(srcDir, e.name), path.join(outDir, e.name));
  }
  const marker = {
    layout: FUSED_PRODUCER, cache: opts.cache ?? 'head-major', version: FUSED_EXPORT_VERSION, source: path.resolve(srcFile), nodes: result.nodes,
    ...(opts.q4 ? { q4: opts.q4 } : {}),
  };
  fs.writeFileSync(path.join(outDir, FUSED_MARKER), `${JSON.stringify(marker, null, 2)}\n`);
  return result;
}
