/**
 * The ci-size stand-in (tools/standin) for tests: generated once per test process into a temporary folder, with
 * one-variant views of it (a folder whose onnx/model.onnx is that variant's file) for code that loads fp32's name.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StandinResult, generateStandin } from '../../tools/standin/generate';
import { Variant } from '../../tools/standin/graph';

let made: { root: string; result: StandinResult } | undefined;

/** The ci stand-in with every variant (seed 0), generated on first use; removed when the process exits. */
export function ciStandin(): StandinResult {
  if (made) return made.result;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-standin-'));
  // Patched q4 copies (src/engine/runtime/fastQ4.ts) of these files go here, not into the user's ~/.cache/lockstep.
  process.env.LOCKSTEP_CACHE_DIR ??= path.join(root, 'cache');
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  const result = generateStandin({ size: 'ci', variants: ['fp32', 'fp16', 'q4', 'q4f16', 'int8'], out: path.join(root, 'ci'), seed: 0 });
  made = { root, result };
  return result;
}

/** A folder holding `dir`'s JSON files and its `variant` file as onnx/model.onnx (fp32 is `dir` itself). */
export function variantView(dir: string, variant: Variant): string {
  if (variant === 'fp32') return dir;
  const view = `${dir}-${variant}`;
  if (fs.existsSync(view)) return view;
  fs.mkdirSync(path.join(view, 'onnx'), { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) fs.symlinkSync(path.join(dir, f), path.join(view, f));
  fs.symlinkSync(path.join(dir, 'onnx', `model_${variant}.onnx`), path.join(view, 'onnx', 'model.onnx'));
  return view;
}
