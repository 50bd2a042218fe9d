/**
 * A model folder in the Hugging Face ONNX layout (fp32 onnx/model.onnx, llama or qwen2) → one GGUF v3 file for
 * llama.cpp, with the project's own writer (bench/peer/). `lockstep bench peer` converts the models it times itself.
 *   npx tsc -p . && node out/bench/gguf-convert.js MODEL_DIR OUT.gguf [--type f32|q4_0]
 */
import { convertToGguf } from './peer/convert';

const [dir, out] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--type');
const t = process.argv.indexOf('--type');
const type = t >= 0 ? process.argv[t + 1] : 'f32';
if (!dir || !out || (type !== 'f32' && type !== 'q4_0')) {
  process.stderr.write('usage: node out/bench/gguf-convert.js MODEL_DIR OUT.gguf [--type f32|q4_0]\n');
  process.exit(2);
}
const r = convertToGguf(dir, out, type);
process.stdout.write(`${r.file}: ${r.arch}, ${r.tensors} tensors, ${r.bytes} bytes (${type})\n`);
