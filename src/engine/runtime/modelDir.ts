/**
 * Reads and validates a model directory in the Hugging Face / Optimum ONNX layout:
 *   config.json, tokenizer.json, tokenizer_config.json, onnx/model{_variant}.onnx [+ .onnx_data]
 * Errors name the directory and the file or field that is wrong, so a user can fix a bad download.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ModelConfig {
  modelType: string;
  numLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  eosTokenIds: number[];
}

export class ModelDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelDirError';
  }
}

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ModelDirError(`${what} not found: ${file}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new ModelDirError(`${what} is not valid JSON: ${file} (${(e as Error).message})`);
  }
}

function positiveInt(cfg: Record<string, unknown>, key: string, file: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelDirError(`${file}: field "${key}" must be a positive integer (got ${JSON.stringify(cfg[key])})`);
  }
  return v;
}

export function readModelConfig(dir: string): ModelConfig {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ModelDirError(`model directory not found: ${dir}`);
  }
  const file = path.join(dir, 'config.json');
  const cfg = readJson(file, 'model config');
  // Some configs (multimodal wrappers) nest the language model's fields.
  const text = (typeof cfg.text_config === 'object' && cfg.text_config !== null ? cfg.text_config : cfg) as Record<string, unknown>;
  const heads = positiveInt(text, 'num_attention_heads', file);
  const hidden = positiveInt(text, 'hidden_size', file);
  const eos = text.eos_token_id ?? cfg.eos_token_id;
  const eosIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [];
  return {
    modelType: typeof text.model_type === 'string' ? text.model_type : String(cfg.model_type ?? 'unknown'),
    numLayers: positiveInt(text, 'num_hidden_layers', file),
    numAttentionHeads: heads,
    numKeyValueHeads: positiveInt(text, 'num_key_value_heads', file, heads),
    headDim: positiveInt(text, 'head_dim', file, Math.floor(hidden / heads)),
    vocabSize: positiveInt(text, 'vocab_size', file),
    maxPositions: positiveInt(text, 'max_position_embeddings', file, 4096),
    eosTokenIds: eosIds,
  };
}

/** Variant name → file under onnx/ (the names onnx-community exports use). */
export function onnxFileFor(variant: string): string {
  return variant === 'fp32' || variant === '' ? 'model.onnx' : `model_${variant}.onnx`;
}

/** File under onnx/ → variant name (model.onnx is fp32; any other name is its stem). */
export function variantOfFile(name: string): string {
  if (name === 'model.onnx') return 'fp32';
  const m = /^model_(.+)\.onnx$/.exec(name);
  return m ? m[1] : name.replace(/\.onnx$/, '');
}

/**
 * Variants in the order a device prefers them when a folder holds several and none was asked for: ones measured
 * exact on it first (CPU: q4 and fp32 — fp16/q4f16 are not exact on the CPU provider), dynamic int8 never unless alone.
 */
export const PREFERRED_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  cpu: ['q4', 'fp32', 'fp16', 'q4f16'],
  gpu: ['q4f16', 'fp16', 'q4', 'fp32'],
};

/**
 * Variants measured exact on a device at the real Qwen2.5-Coder-0.5B shape (fp32, MatMulNBits q4 on the CPU): a
 * downloaded one may stand in for the catalog's device variant. Nothing is listed for the GPU providers (not measured).
 */
export const MEASURED_EXACT: Readonly<Record<string, readonly string[]>> = { cpu: ['q4', 'fp32'] };

/** The .onnx files under a model folder's onnx/, sorted. */
export function onnxFilesIn(dir: string): string[] {
  const onnxDir = path.join(dir, 'onnx');
  try {
    return fs.readdirSync(onnxDir).filter((f) => f.endsWith('.onnx')).sort();
  } catch {
    return [];
  }
}

export interface OnnxChoice {
  file: string;
  variant: string;
  /** Set when the folder held several files and one was picked for the device: which, and the others. */
  note?: string;
}

/**
 * The ONNX file to load: the variant asked for, else the only file under onnx/, else the device's preferred variant
 * (PREFERRED_VARIANTS) among those present, with a note naming them all.
 */
export function chooseOnnxFile(dir: string, variant: string | undefined, device = 'cpu'): OnnxChoice {
  if (variant !== undefined) return { file: findOnnxFile(dir, variant), variant };
  const present = onnxFilesIn(dir);
  if (present.length === 0) return { file: findOnnxFile(dir, 'fp32'), variant: 'fp32' };
  if (present.length === 1) return { file: path.join(dir, 'onnx', present[0]), variant: variantOfFile(present[0]) };
  const variants = present.map(variantOfFile);
  const order = PREFERRED_VARIANTS[device === 'cpu' ? 'cpu' : 'gpu'];
  const rank = (v: string): number => (order.includes(v) ? order.indexOf(v) : /int8|uint8|quantized/.test(v) ? 1000 : 100);
  const best = variants.reduce((a, b) => (rank(b) < rank(a) ? b : a));
  const note = `${dir} has variants ${variants.join(', ')}; using ${best} on ${device} (choose one with --variant or lockstep.targetVariant)`;
  return { file: path.join(dir, 'onnx', onnxFileFor(best)), variant: best, note };
}

export function findOnnxFile(dir: string, variant = 'fp32'): string {
  const file = path.join(dir, 'onnx', onnxFileFor(variant));
  if (fs.existsSync(file)) return file;
  const present = onnxFilesIn(dir);
  const hint = present.length > 0 ? `; this directory has: ${present.map((f) => `${variantOfFile(f)} (onnx/${f})`).join(', ')}` : '; the onnx/ folder is missing or empty';
  throw new ModelDirError(`no ONNX file for variant "${variant}" in ${dir} (expected onnx/${onnxFileFor(variant)})${hint}`);
}
