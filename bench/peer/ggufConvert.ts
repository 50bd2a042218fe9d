/**
 * `lockstep bench gguf-convert MODEL_DIR OUT.gguf [--type f32|q4_0]`: a model folder in the Hugging Face ONNX layout
 * (fp32 onnx/model.onnx, llama or qwen2) → one GGUF v3 file for llama.cpp, with the project's own writer (this
 * folder). `lockstep bench peer` converts the models it times itself.
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import type { MeasureCommand } from '../common';
import { convertToGguf } from './convert';

const options = {
  type: A.single(A.choice(['f32', 'q4_0'] as const), 'f32|q4_0', 'tensor type of the weight matrices (default f32)'),
};

export const ggufConvert: MeasureCommand<typeof options> = {
  usage: 'MODEL_DIR OUT.gguf [--type f32|q4_0]',
  about: 'Converts a model folder in the Hugging Face ONNX layout (fp32 onnx/model.onnx, llama or qwen2) to one GGUF v3\n' +
    'file for llama.cpp, with the writer `bench peer` uses.',
  options,
  async run(o, positionals, io) {
    const [dir, out, extra] = positionals;
    if (!dir || !out || extra !== undefined) throw new A.UsageError(`usage: lockstep bench gguf-convert ${ggufConvert.usage}`);
    const type = o.type ?? 'f32';
    const r = convertToGguf(path.resolve(io.cwd, dir), path.resolve(io.cwd, out), type);
    io.stdout(`${out}: ${r.arch}, ${r.tensors} tensors, ${r.bytes} bytes (${type})\n`);
  },
};
