/** The options `lockstep complete`, `lockstep verify` and `lockstep serve` share: models, device, sampling, output. */
import { DEVICE_REQUESTS } from '../engine/runtime/device';
import { COUPLING_CHOICES_HELP, COUPLING_IDS } from '../engine/decode/couplings/registry';
import * as A from './args';

export const MODES = ['line', 'block', 'free'] as const;

/** A variant name as the catalog and onnx-community's file names spell it (fp32, q4, q4f16 …). */
export const variantName: A.ValueParser<string> = (raw, flag) => {
  if (!/^[a-z0-9][a-z0-9_]*$/.test(raw)) {
    throw new A.UsageError(`${flag} expects a variant name such as fp32, q4, q4f16, fp16 or int8 (onnx/model_<variant>.onnx), got '${raw}'`);
  }
  return raw;
};

export const commonDefs = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces and engine details on errors'),
  json: A.flag('print one JSON object instead of text'),
  catalog: A.single(A.str, 'FILE', 'model catalog (default: models.json of the package)'),
  target: A.single(A.str, 'MODEL', 'target model: catalog id or model directory (default lockstep-target)'),
  variant: A.single(variantName, 'V', "the target's ONNX variant (default: the catalog's exact one for the device, a folder's only file, else its preferred one)"),
  'drafter-variant': A.single(variantName, 'V', "the model drafters' ONNX variant (default: as for the target)"),
  threads: A.single(A.threads, 'N', 'intra-op threads per model (0 = onnxruntime default)'),
  'no-fast-q4': A.flag('on the CPU, load q4 files as they are (default: a cached copy with MatMulNBits accuracy_level 4 when they lack it)'),
  'no-fused': A.flag('on the CPU, load fp32 files as they are (default: a cached copy on onnxruntime\'s fused operators, GroupQueryAttention …)'),
  device: A.single(A.choice(DEVICE_REQUESTS), 'DEVICE', 'auto | cpu | webgpu | cuda | dml | coreml (default cpu; falls back to the CPU, saying why)'),
  fim: A.single(A.str, 'NAME', 'FIM template (default: from the catalog or the tokenizer)'),
  'top-p': A.single(A.topP, 'P', 'nucleus sampling mass, 0 < P ≤ 1 (default 1 = off)'),
  'top-k': A.single(A.topK, 'K', 'keep the K most likely tokens (default 0 = off)'),
  'max-tokens': A.single(A.maxTokens, 'N', 'most tokens to generate, 1..4096'),
  mode: A.single(A.choice(MODES), 'MODE', 'stop rule: line | block | free'),
};

/** One completion's settings (`lockstep complete`; `lockstep serve`'s defaults for requests that name none). */
export const generationDefs = {
  seed: A.single(A.seed, 'N', 'public-randomness seed (default 0)'),
  temperature: A.single(A.temperature, 'T', 'sampling temperature; 0, or anything below 1e-6, = greedy (default 0.2)'),
  gamma: A.single(A.gamma, 'G', 'drafts per round, 0..32 or auto (default auto)'),
  coupling: A.single(A.choice(COUPLING_IDS), 'KIND', COUPLING_CHOICES_HELP),
};
