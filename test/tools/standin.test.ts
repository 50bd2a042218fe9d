/**
 * The Qwen2.5-Coder stand-in (tools/standin): same options give the same bytes and a rerun writes nothing; every
 * variant loads in the engine and is not flat; the fp32 graph computes the config's model (a float64 reference
 * forward pass) and the q4 graph computes it with its dequantized weights; Qwen's tokenizer and FIM template work
 * with it; the CLI completes with every variant, and the early-exit drafter changes nothing but speed.
 */
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CausalLM } from '../../src/engine/runtime/model';
import { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import { buildFimPrompt, detectFimTemplate } from '../../src/engine/prompt/fim';
import { readModelConfig } from '../../src/engine/runtime/modelDir';
import { dequantizeQ4, quantizeQ4 } from '../../src/onnx/quantize';
import { shapeOf } from '../../tools/standin/config';
import { StandinResult, generateStandin } from '../../tools/standin/generate';
import { Q4_BLOCK, VARIANTS } from '../../tools/standin/graph';
import { referenceLogits } from '../../tools/standin/reference';
import { weight } from '../../tools/standin/weights';
import { parseArgs } from '../../tools/standin/main';
import { entropy } from '../../tools/standin/rowStats';
import { ciStandin, variantView } from '../helpers/standin';
import { PREFIX, SUFFIX, run } from '../helpers/cli';

let ci: StandinResult;
before(() => {
  ci = ciStandin();
});

const TOKENS = [151659, 1688, 912, 7, 64, 11, 293, 8, 314, 151661, 151660];

test('the same options give byte-identical files, and a rerun keeps every file', () => {
  const again = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-standin-again-'));
  try {
    const out = path.dirname(ci.target);
    const r = generateStandin({ size: 'ci', variants: [...VARIANTS], out: again, seed: 0 });
    assert.deepEqual(Object.keys(r.manifest.files).sort(), Object.keys(ci.manifest.files).sort());
    for (const rel of Object.keys(ci.manifest.files)) {
      assert.ok(fs.readFileSync(path.join(out, rel)).equals(fs.readFileSync(path.join(again, rel))), `${rel} differs`);
    }
    const rerun = generateStandin({ size: 'ci', variants: [...VARIANTS], out: again, seed: 0 });
    assert.deepEqual(rerun.written, []);
    assert.equal(rerun.skipped.length, Object.keys(ci.manifest.files).length);
    const reseeded = generateStandin({ size: 'ci', variants: ['q4'], out: again, seed: 1, drafterLayers: 0 });
    assert.ok(reseeded.written.includes('target/onnx/model_q4.onnx'), 'another seed must rewrite the file');
    // Files from another version of the generator are made again, whatever their manifest says.
    const manifestFile = path.join(again, 'standin.json');
    fs.writeFileSync(manifestFile, fs.readFileSync(manifestFile, 'utf8').replace(/"code": "[0-9a-f]{64}"/, `"code": "${'0'.repeat(64)}"`));
    const otherCode = generateStandin({ size: 'ci', variants: ['q4'], out: again, seed: 1, drafterLayers: 0 });
    assert.ok(otherCode.written.includes('target/onnx/model_q4.onnx'));
  } finally {
    fs.rmSync(again, { recursive: true, force: true });
  }
});

test('the files are laid out like onnx-community\'s Qwen2.5-Coder exports', () => {
  const files = Object.keys(ci.manifest.files).filter((f) => f.startsWith('target/')).sort();
  assert.deepEqual(files, [
    'target/config.json', 'target/generation_config.json', 'target/onnx/model.onnx', 'target/onnx/model.onnx_data',
    'target/onnx/model_fp16.onnx', 'target/onnx/model_int8.onnx', 'target/onnx/model_q4.onnx', 'target/onnx/model_q4f16.onnx',
    'target/tokenizer.json', 'target/tokenizer_config.json',
  ]);
  const cfg = readModelConfig(ci.target);
  assert.equal(cfg.modelType, 'qwen2');
  assert.equal(cfg.vocabSize, 151936);
  assert.deepEqual(cfg.eosTokenIds, [151643]);
  assert.equal(readModelConfig(ci.drafter!).numLayers, 1);
  // The fp32 tensors are in the side file, named relative to the model.
  assert.ok(fs.statSync(path.join(ci.target, 'onnx', 'model.onnx')).size < 100_000);
  assert.ok(fs.readFileSync(path.join(ci.target, 'onnx', 'model.onnx')).includes(Buffer.from('model.onnx_data')));
});

/** The logits rows of `tokens` in one call; `asWritten`: the file itself, neither its accuracy_level-4 nor its fused copy. */
async function lastRow(dir: string, variant: string, tokens: number[], asWritten = false): Promise<{ rows: Float32Array[]; width: number }> {
  const m = await CausalLM.load(dir, { variant, threads: 1, ...(asWritten ? { fastQuantizedKernels: false, fusedOps: false } : {}) });
  try {
    const r = await m.forward(tokens);
    return { rows: Array.from({ length: r.count }, (_, i) => Float32Array.from(r.row(i))), width: r.width };
  } finally {
    await m.dispose();
  }
}

test('every variant of target and drafter loads in the engine and its distribution is not flat', async () => {
  for (const dir of [ci.target, ci.drafter!]) {
    for (const v of VARIANTS) {
      const { rows, width } = await lastRow(dir, v, TOKENS);
      assert.equal(width, 151936);
      const h = entropy(rows[rows.length - 1]);
      assert.ok(h > 0.5 && h < Math.log(151936) - 3, `${path.basename(dir)} ${v}: entropy ${h.toFixed(2)} nats`);
      assert.ok(rows.every((r) => r.every(Number.isFinite)), `${v}: non-finite logits`);
    }
  }
});

function maxDiff(a: Float32Array[], b: Float64Array[]): number {
  let d = 0;
  a.forEach((row, t) => row.forEach((x, j) => (d = Math.max(d, Math.abs(x - b[t][j])))));
  return d;
}

test('fp32 logits equal a float64 forward pass of the config\'s model (within float32 rounding)', async () => {
  const s = shapeOf('ci');
  const w = (name: string) => weight(s, 0, name);
  const tokens = TOKENS.slice(0, 6);
  const ref = referenceLogits(s, w, tokens, { layers: s.layers });
  const { rows } = await lastRow(ci.target, 'fp32', tokens);
  assert.ok(maxDiff(rows, ref) < 1e-3, `max |onnx − reference| = ${maxDiff(rows, ref)}`);
  // The comparison can see a wrong model: one layer fewer is far off.
  const drafterRef = referenceLogits(s, w, tokens, { layers: 1 });
  assert.ok(maxDiff(rows, drafterRef) > 0.1);
  const drafter = await lastRow(ci.drafter!, 'fp32', tokens);
  assert.ok(maxDiff(drafter.rows, drafterRef) < 1e-3, 'the drafter is the target\'s first layer');
});

test('q4 logits equal the float64 forward pass with the 4-bit weights dequantized', async () => {
  const s = shapeOf('ci');
  const deq = (x: Float32Array, k: number, n: number, rows = false) => dequantizeQ4(quantizeQ4(x, k, n, Q4_BLOCK, rows), k, n, Q4_BLOCK);
  const dims: Record<string, [number, number]> = {
    q_proj: [s.hidden, s.heads * s.headDim], k_proj: [s.hidden, s.kvHeads * s.headDim], v_proj: [s.hidden, s.kvHeads * s.headDim],
    o_proj: [s.heads * s.headDim, s.hidden], gate_proj: [s.hidden, s.intermediate], up_proj: [s.hidden, s.intermediate],
    down_proj: [s.intermediate, s.hidden],
  };
  const w = (name: string) => {
    const raw = weight(s, 0, name);
    const m = /\.(\w+_proj)\.weight$/.exec(name);
    return m ? deq(raw, ...dims[m[1]]) : raw;
  };
  const head = deq(weight(s, 0, 'model.embed_tokens.weight'), s.hidden, s.vocab, true);
  const tokens = TOKENS.slice(0, 4);
  const ref = referenceLogits(s, w, tokens, { layers: s.layers, head });
  // The file as written (accuracy_level 4, in the engine's copies, also rounds the activations to int8).
  const { rows } = await lastRow(ci.target, 'q4', tokens, true);
  assert.ok(maxDiff(rows, ref) < 2e-3, `max |onnx − reference| = ${maxDiff(rows, ref)}`);
});

test('Qwen\'s tokenizer with Qwen2.5-Coder\'s added tokens loads, and the Qwen FIM template builds its prompt', () => {
  const tok = TokenizerWrapper.fromDir(ci.target);
  assert.equal(tok.vocabSize, 151665, 'added tokens end at <|file_sep|> 151664');
  const ids: Record<string, number> = {
    '<|endoftext|>': 151643, '<|im_end|>': 151645, '<|fim_prefix|>': 151659, '<|fim_middle|>': 151660,
    '<|fim_suffix|>': 151661, '<|fim_pad|>': 151662, '<|repo_name|>': 151663, '<|file_sep|>': 151664,
  };
  for (const [t, id] of Object.entries(ids)) assert.equal(tok.specialTokenId(t), id, t);
  assert.equal(tok.specialTokenId('<think>'), undefined, 'Qwen3\'s additions are dropped');
  const template = detectFimTemplate(tok);
  assert.equal(template.id, 'qwen2.5-coder');
  const p = buildFimPrompt(tok, template, 'def add(a, b):\n    return ', '\n', 64);
  assert.equal(p.ids[0], 151659);
  assert.equal(p.ids[p.ids.length - 1], 151660);
  assert.ok(p.ids.includes(151661));
  assert.equal(tok.decode(tok.encodePlain('def add(a, b):')), 'def add(a, b):');
});

test('lockstep complete --target <stand-in> produces text with every variant; the drafter changes no byte', async () => {
  for (const v of VARIANTS) {
    const r = await run('complete', '--target', variantView(ci.target, v), '--drafter', 'none', '--prefix', PREFIX, '--suffix', SUFFIX,
      '--max-tokens', '6', '--mode', 'free', '--threads', '1', '--json');
    assert.equal(r.code, 0, `${v}: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { text: string; tokens: number };
    assert.ok(out.tokens > 0 && out.text.length > 0, `${v}: no text (${r.stdout})`);
  }
  const texts = new Set<string>();
  for (const drafter of ['none', ci.drafter!, 'prompt-lookup']) {
    const r = await run('complete', '--target', ci.target, '--drafter', drafter, '--prefix', PREFIX, '--suffix', SUFFIX,
      '--max-tokens', '12', '--mode', 'free', '--threads', '1', '--temperature', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    texts.add((JSON.parse(r.stdout) as { text: string }).text);
  }
  assert.equal(texts.size, 1, `texts differ across drafters: ${[...texts].map((t) => JSON.stringify(t)).join(' / ')}`);
});

test('the command line: defaults, the cache folder, and one clear message per bad option', () => {
  const o = parseArgs([], { LOCKSTEP_STANDIN_CACHE: '/tmp/cache' });
  assert.notEqual(o, 'help');
  if (o === 'help') return;
  assert.equal(o.size, 'ci');
  assert.equal(o.out, path.resolve('/tmp/cache/ci'));
  assert.deepEqual(o.variants, VARIANTS);
  assert.equal(o.dryRun, false);
  assert.deepEqual(parseArgs(['--dry-run'], {}) !== 'help' && parseArgs(['--dry-run'], {}), { ...o, out: path.join(os.homedir(), '.cache', 'lockstep', 'standin', 'ci'), dryRun: true });
  const home = parseArgs(['--size', '0.5b', '--variants', 'q4,fp32', '--accuracy-level', '4'], {});
  assert.deepEqual(home === 'help' ? home : [home.out, home.variants, home.accuracyLevel],
    [path.join(os.homedir(), '.cache', 'lockstep', 'standin', '0.5b'), ['fp32', 'q4'], 4]);
  assert.throws(() => parseArgs(['--size', '7b'], {}), /--size must be one of 0\.5b, 1\.5b, 3b, ci \(got 7b\)/);
  assert.throws(() => parseArgs(['--variants', 'fp8'], {}), /unknown fp8/);
  assert.throws(() => parseArgs(['--accuracy-level', '9'], {}), /from 0 to 4/);
  assert.throws(() => parseArgs(['--seed'], {}), /--seed needs a value/);
});
