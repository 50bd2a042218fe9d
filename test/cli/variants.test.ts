/**
 * The CLI and variants: --variant / --drafter-variant for folders and catalog ids, a catalog target whose device
 * variant is not downloaded, and what complete and verify say about the exactness probe's verdict.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { targetVariants } from '../../src/cli/engineOpen';
import { filesFor, loadCatalog, resolveModel } from '../../src/models/catalog';
import { repoFolderName } from '../../src/models/hubCache';
import { assertOneLineError, run } from '../helpers/cli';
import { inexactModelDir, variantsDir } from '../helpers/inexactModel';
import { DRAFTER_B_DIR, TARGET_DIR } from '../helpers/models';

process.env.LOCKSTEP_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-cli-cache-'));
const PREFIX = 'function add(a, b) {\n  return';

test('complete on a folder holding only onnx/model_q4.onnx loads it', async () => {
  const dir = variantsDir(['q4']);
  const r = await run('complete', '--target', dir, '--drafter', 'none', '--prefix', PREFIX, '--max-tokens', '4', '--json', '--debug');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /"variant":"q4"/);
});

test('--variant picks one of several; a folder with several and none asked: the preferred one, said once', async () => {
  const dir = variantsDir(['fp32', 'q4f16']);
  const asked = await run('complete', '--target', dir, '--variant', 'q4f16', '--drafter', 'none', '--prefix', PREFIX, '--max-tokens', '4', '--debug');
  assert.equal(asked.code, 0, asked.stderr);
  assert.match(asked.stderr, /"variant":"q4f16"/);
  assert.doesNotMatch(asked.stderr, /has variants/);
  const auto = await run('complete', '--target', dir, '--drafter', 'none', '--prefix', PREFIX, '--max-tokens', '4');
  assert.equal(auto.code, 0, auto.stderr);
  const lines = auto.stderr.split('\n').filter((l) => l.includes('has variants'));
  assert.deepEqual(lines, [`lockstep: ${dir} has variants fp32, q4f16; using fp32 on cpu (choose one with --variant or lockstep.targetVariant)`]);
});

test('--variant naming a missing file or a bad name: one clear line', async () => {
  const dir = variantsDir(['fp32', 'q4f16']);
  assertOneLineError(
    await run('complete', '--target', dir, '--variant', 'int8', '--prefix', PREFIX),
    /no ONNX file for variant "int8" .* this directory has: fp32 \(onnx\/model\.onnx\), q4f16 \(onnx\/model_q4f16\.onnx\)/,
  );
  assertOneLineError(await run('complete', '--variant', 'Q4!', '--prefix', PREFIX), /--variant expects a variant name such as fp32, q4, q4f16, fp16 or int8 .* got 'Q4!'/);
  assertOneLineError(await run('verify', '--drafter-variant', '../x'), /--drafter-variant expects a variant name/);
});

test('--drafter-variant chooses the file of a drafter folder', async () => {
  const drafter = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-drafter-'));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(DRAFTER_B_DIR, f), path.join(drafter, f));
  fs.mkdirSync(path.join(drafter, 'onnx'));
  fs.copyFileSync(path.join(DRAFTER_B_DIR, 'onnx', 'model.onnx'), path.join(drafter, 'onnx', 'model.onnx'));
  fs.writeFileSync(path.join(drafter, 'onnx', 'model_fp16.onnx'), 'not a model');
  const args = ['complete', '--target', TARGET_DIR, '--drafter', drafter, '--prefix', PREFIX, '--max-tokens', '4'];
  const ok = await run(...args);
  assert.equal(ok.code, 0, ok.stderr);
  assertOneLineError(await run(...args, '--drafter-variant', 'fp16'), /cannot load .*model_fp16\.onnx on cpu/);
  assertOneLineError(await run(...args, '--drafter-variant', 'q4'), /no ONNX file for variant "q4"/);
});

test('an inexact target: complete says once that drafting is off; verify shows the verdict and is identical', async () => {
  const dir = inexactModelDir();
  const c = await run('complete', '--target', dir, '--drafter', DRAFTER_B_DIR, '--prefix', PREFIX, '--max-tokens', '8');
  assert.equal(c.code, 0, c.stderr);
  const said = c.stderr.split('\n').filter((l) => l.includes('drafting is off'));
  assert.equal(said.length, 1, c.stderr);
  assert.match(said[0], /^lockstep: target .* \(int8 on cpu, default threads: not exact: drafting off \(0\/24 rows equal under the best rule tried\)\): .* The q4 or fp32 variant is exact on cpu\.$/);
  assert.match(c.stderr, /acceptance n\/a \(no drafts\)/);

  const v = await run('verify', '--target', dir, '--drafter', DRAFTER_B_DIR, '--drafter', 'prompt-lookup', '--cases', '2', '--max-tokens', '8', '--gamma', '3');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^exactness: int8 on cpu, default threads: not exact: drafting off \(0\/24 rows equal under the best rule tried\) \(cached probe\)$/m);
  assert.match(v.stdout, /verdict: IDENTICAL .* — drafting was off \(the target is not exact\), so every drafter ran plain decoding/);
  assert.equal(v.stderr.split('\n').filter((l) => l.includes('drafting is off')).length, 1, v.stderr);
});

test('verify on the shipped target shows "exact with calls of ≥ 2 tokens (120/120 rows equal)"', async () => {
  const v = await run('verify', '--drafter', 'prompt-lookup', '--cases', '1', '--max-tokens', '4', '--gamma', '2', '--temperature', '0', '--threads', '1');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^exactness: fp32 on cpu, 1 thread: exact with calls of ≥ 2 tokens \(120\/120 rows equal\)/m);
});

test('a catalog target whose CPU variant (q4) is not downloaded names it and the download command; --variant uses another', async () => {
  const catalog = loadCatalog();
  const id = 'qwen2.5-coder-0.5b-instruct';
  const entry = catalog.models.find((m) => m.id === id)!;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-hub-'));
  const commit = 'a'.repeat(40);
  const repoDir = path.join(cacheDir, repoFolderName(entry.repo!));
  fs.mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repoDir, 'refs', 'main'), `${commit}\n`);
  for (const f of filesFor(entry, 'q4f16')) {
    const p = path.join(repoDir, 'snapshots', commit, ...f.path.split('/'));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.path.endsWith('.json') ? '{}' : 'onnx');
  }
  const resolved = resolveModel(id, catalog, '/', { cacheDir });
  assert.equal(resolved.variant, 'q4f16');
  const tv = targetVariants(catalog, id, resolved);
  assert.equal(tv.variants?.cpu, undefined);
  assert.equal(tv.missingVariants?.cpu,
    `model '${id}': its variant for cpu, q4, is not downloaded (q4f16 is, but it is not the one measured exact on cpu) — run ` +
    `\`lockstep download ${id} --variant q4\`, or ask for a downloaded variant with --variant`);
  assert.deepEqual(targetVariants(catalog, id, resolved, 'q4f16'), { variant: 'q4f16' });

  const saved = process.env.LOCKSTEP_MODELS_DIR;
  process.env.LOCKSTEP_MODELS_DIR = cacheDir;
  try {
    assertOneLineError(await run('complete', '--target', id, '--drafter', 'none', '--prefix', PREFIX),
      /its variant for cpu, q4, is not downloaded .* run `lockstep download qwen2\.5-coder-0\.5b-instruct --variant q4`/);
  } finally {
    if (saved === undefined) delete process.env.LOCKSTEP_MODELS_DIR;
    else process.env.LOCKSTEP_MODELS_DIR = saved;
  }
});

test('lockstep download --list marks the variants that can never be exact, and q4 as the default', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-empty-hub-'));
  const r = await run('download', '--list', '--models-dir', empty);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /qwen2\.5-coder-0\.5b-instruct .*\n(?: {4}.*\n)*? {4}q4 \(default\) +~\S+ MB +not downloaded/);
  assert.match(r.stdout, / {4}int8 \(never exact\) +~\S+ MB +not downloaded/);
  const json = JSON.parse((await run('download', '--list', '--json', '--models-dir', empty)).stdout) as {
    models: { id: string; variants?: { variant: string; exact?: false }[] }[];
  };
  const q = json.models.find((m) => m.id === 'qwen2.5-coder-0.5b-instruct')!;
  assert.deepEqual(q.variants!.filter((v) => v.exact === false).map((v) => v.variant), ['int8']);
});

test('bench and verify take --variant and --drafter-variant (help), and bench rejects a bad variant name', async () => {
  for (const argv of [['bench', 'speed', '--help'], ['bench', 'invariance', '--help'], ['verify', '--help'], ['complete', '--help']]) {
    const r = await run(...argv);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--variant V\b/, argv.join(' '));
    assert.match(r.stdout, /--drafter-variant V\b/, argv.join(' '));
  }
  assertOneLineError(await run('bench', 'invariance', '--variant', 'x y'), /--variant expects a variant name/);
});
