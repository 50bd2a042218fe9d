/**
 * Writes the stand-in: a target and an early-exit drafter, each a Hugging Face model folder in onnx-community's layout
 * (config.json, generation_config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx + model.onnx_data,
 * onnx/model_{fp16,q4,q4f16,int8}.onnx), and `standin.json`, the options and every file's size and sha256. Files are a
 * function of the options only, so a second run with the same options gives the same bytes; it skips every file the
 * manifest lists with the same options and generator code whose size and sha256 still match.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelProto, writeModel } from '../../src/onnx/onnxModel';
import { SizeName, StandinShape, configJson, generationConfigJson, shapeOf } from './config';
import { Variant, buildGraph } from './graph';
import { qwenTokenizerFiles } from './tokenizer';
import { weight } from './weights';

export interface StandinOptions {
  size: SizeName;
  variants: Variant[];
  out: string;
  seed: number;
  /** MatMulNBits accuracy_level of the q4 files (absent: not written, as transformers.js's quantize script by default). */
  accuracyLevel?: number;
  /** The drafter's layers (default: the size's); 0 = no drafter. */
  drafterLayers?: number;
}

export interface FileRecord {
  size: number;
  sha256: string;
}

export interface StandinManifest {
  generator: 'lockstep-standin';
  format: 1;
  /** sha256 of the generator's own code: files from another version of it are made again, never trusted. */
  code: string;
  options: { size: SizeName; seed: number; accuracyLevel: number | null; drafterLayers: number };
  shape: StandinShape;
  files: Record<string, FileRecord>;
}

export interface StandinResult {
  target: string;
  drafter?: string;
  manifest: StandinManifest;
  written: string[];
  skipped: string[];
}

export const MANIFEST = 'standin.json';
const FORMAT = 1;
/** Protobuf's limit, less room for the graph itself: bigger files put their tensors in a side file. */
const INLINE_LIMIT = 2 ** 31 - 64 * 2 ** 20;

export function onnxFiles(variant: Variant, external: boolean): string[] {
  const base = variant === 'fp32' ? 'model' : `model_${variant}`;
  return external ? [`onnx/${base}.onnx`, `onnx/${base}.onnx_data`] : [`onnx/${base}.onnx`];
}

/**
 * The files a variant's model takes and their total bytes, without making any weights: fp32 always has its side
 * file (as the real exports), any other variant only when the model would pass protobuf's limit.
 */
export function plannedLayout(shape: StandinShape, variant: Variant, layers = shape.layers): { files: string[]; bytes: number } {
  const spec = buildGraph(shape, { variant, layers }, () => {
    throw new Error('plannedLayout makes no weights');
  });
  const bytes = modelProto(spec).size();
  return { files: onnxFiles(variant, variant === 'fp32' || bytes > INLINE_LIMIT), bytes };
}

/** The modules whose code decides the bytes written (compiled JavaScript, next to this one). */
export function generatorFingerprint(): string {
  const h = crypto.createHash('sha256');
  for (const m of ['./config', './graph', './tokenizer', './weights', './generate', '../../src/onnx/onnxModel', '../../src/onnx/protoWriter',
    '../../src/onnx/float16', '../../src/onnx/quantize']) {
    h.update(fs.readFileSync(require.resolve(m)));
  }
  return h.digest('hex');
}

export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function generateStandin(opts: StandinOptions, log: (line: string) => void = () => {}): StandinResult {
  const shape = shapeOf(opts.size);
  if (opts.drafterLayers !== undefined) shape.drafterLayers = opts.drafterLayers;
  if (!Number.isInteger(shape.drafterLayers) || shape.drafterLayers < 0 || shape.drafterLayers >= shape.layers) {
    throw new Error(`--drafter-layers must be an integer from 0 to ${shape.layers - 1} (got ${shape.drafterLayers})`);
  }
  const options = { size: opts.size, seed: opts.seed, accuracyLevel: opts.accuracyLevel ?? null, drafterLayers: shape.drafterLayers };
  const manifestFile = path.join(opts.out, MANIFEST);
  const old = readManifest(manifestFile);
  const code = generatorFingerprint();
  const sameOptions = old !== undefined && old.code === code && JSON.stringify(old.options) === JSON.stringify(options);
  const manifest: StandinManifest = { generator: 'lockstep-standin', format: FORMAT, code, options, shape, files: {} };
  const result: StandinResult = { target: path.join(opts.out, 'target'), manifest, written: [], skipped: [] };
  fs.mkdirSync(opts.out, { recursive: true });
  // The old manifest goes first: an interrupted run must not leave one that vouches for half-written files.
  if (fs.existsSync(manifestFile)) fs.rmSync(manifestFile);

  const unchanged = (rel: string): boolean => {
    const rec = sameOptions ? old?.files[rel] : undefined;
    const file = path.join(opts.out, rel);
    if (!rec || !fs.existsSync(file) || fs.statSync(file).size !== rec.size || sha256File(file) !== rec.sha256) return false;
    manifest.files[rel] = rec;
    result.skipped.push(rel);
    return true;
  };
  const record = (rel: string): void => {
    const file = path.join(opts.out, rel);
    manifest.files[rel] = { size: fs.statSync(file).size, sha256: sha256File(file) };
    result.written.push(rel);
  };
  const text = (rel: string, content: string): void => {
    const file = path.join(opts.out, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === content) {
      manifest.files[rel] = { size: fs.statSync(file).size, sha256: sha256File(file) };
      result.skipped.push(rel);
      return;
    }
    fs.writeFileSync(file, content);
    record(rel);
  };

  const tokenizer = qwenTokenizerFiles(shape.maxPositions);
  const models: { dir: string; layers: number; note: string }[] = [
    { dir: 'target', layers: shape.layers, note: `lockstep stand-in (${opts.size}, seed ${opts.seed}): Qwen2.5-Coder's shape and tokenizer, random weights` },
  ];
  if (shape.drafterLayers > 0) {
    models.push({ dir: 'drafter', layers: shape.drafterLayers, note: `lockstep stand-in drafter: the target's first ${shape.drafterLayers} layer(s), final norm and tied head` });
    result.drafter = path.join(opts.out, 'drafter');
  }
  const weights = (name: string) => weight(shape, opts.seed, name);
  for (const m of models) {
    text(`${m.dir}/config.json`, JSON.stringify(configJson(shape, m.layers, m.note), null, 2) + '\n');
    text(`${m.dir}/generation_config.json`, JSON.stringify(generationConfigJson(), null, 2) + '\n');
    text(`${m.dir}/tokenizer.json`, tokenizer.tokenizer);
    text(`${m.dir}/tokenizer_config.json`, tokenizer.config);
    fs.mkdirSync(path.join(opts.out, m.dir, 'onnx'), { recursive: true });
    for (const variant of opts.variants) {
      const spec = buildGraph(shape, { variant, layers: m.layers, accuracyLevel: opts.accuracyLevel }, weights);
      const rels = plannedLayout(shape, variant, m.layers).files.map((f) => `${m.dir}/${f}`);
      const external = rels.length > 1;
      if (rels.every(unchanged)) {
        log(`${rels.join(' + ')}: unchanged`);
        continue;
      }
      const started = Date.now();
      const [modelRel, dataRel] = rels;
      writeModel(path.join(opts.out, modelRel), spec, external ? { externalData: path.basename(dataRel) } : {});
      for (const rel of rels) record(rel);
      log(`${rels.join(' + ')}: ${rels.map((r) => manifest.files[r].size).join(' + ')} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  return result;
}

function readManifest(file: string): StandinManifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as StandinManifest;
    return m.generator === 'lockstep-standin' && m.format === FORMAT ? m : undefined;
  } catch {
    return undefined;
  }
}
