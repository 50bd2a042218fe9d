/**
 * The fused copy made from the file a user actually downloads (src/onnx/decoderSource.ts, src/engine/runtime/fusedModel.ts):
 * a q4 file keeps its own 4-bit blocks (no fp32 original), fp16 and q4f16 files are widened; every copy gives its
 * original's logits and is exact under the padded rule; copies are keyed by content; a half-made copy is never loaded;
 * the engine process's background mode serves from the original and swaps the copy in when it is ready.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Engine } from '../../../src/engine/process/engine';
import { FusedEvent } from '../../../src/engine/runtime/fusedUpgrade';
import { fusedFile, runFusedJob } from '../../../src/engine/runtime/fusedModel';
import { fusedKey } from '../../../src/engine/runtime/fusedCache';
import { CausalLM } from '../../../src/engine/runtime/model';
import { indexOnnx, readTensorBytes } from '../../../src/onnx/onnxIndex';
import { assertGroupingsExact, rowsByGrouping, seededIds } from '../../helpers/models';
import { ciStandin } from '../../helpers/standin';
import { run } from '../../helpers/cli';

const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fused-src-'));
process.on('exit', () => fs.rmSync(cache, { recursive: true, force: true }));

async function maxDiff(a: CausalLM, b: CausalLM, ids: number[]): Promise<number> {
  const ra = await rowsByGrouping(a, ids, [ids.length]);
  const rb = await rowsByGrouping(b, ids, [ids.length]);
  let d = 0;
  for (let r = 0; r < ids.length; r++) for (let i = 0; i < ra[r].length; i++) d = Math.max(d, Math.abs(ra[r][i] - rb[r][i]));
  return d;
}

for (const [variant, tolerance] of [['q4', 1e-2], ['fp16', 0.05], ['q4f16', 0.4]] as const) {
  test(`ci stand-in ${variant}: fused copy made from the ${variant} file itself, its logits within ${tolerance}, exact under the padded rule`, async () => {
    const ci = ciStandin();
    const original = await CausalLM.load(ci.target, { threads: 1, variant, fusedOps: false, fastQuantizedKernels: variant.startsWith('q4'), cacheDir: cache });
    const copy = await CausalLM.load(ci.target, { threads: 1, variant, cacheDir: cache });
    assert.ok(copy.loadedFile.startsWith(path.join(cache, 'fused')), copy.loadedFile);
    assert.match(copy.loadNote ?? '', /fused-operator copy/);
    const ix = indexOnnx(copy.loadedFile);
    assert.ok(ix.nodes.some((n) => n.opType === 'GroupQueryAttention'));
    if (variant.startsWith('q4')) {
      // The source's own blocks, not a requantization: Q|K|V of layer 0 is the three packed weights end to end.
      const src = indexOnnx(path.join(ci.target, 'onnx', `model_${variant}.onnx`));
      const packed = (stem: string) => readTensorBytes(src.tensors.get(`model.layers.0.self_attn.${stem}.MatMul.weight_Q4`)!);
      const qkv = readTensorBytes(ix.tensors.get('model.layers.0.self_attn.qkv_proj.weight_Q4')!);
      assert.deepEqual(Buffer.from(qkv), Buffer.concat([packed('q_proj'), packed('k_proj'), packed('v_proj')]));
      const nbits = ix.nodes.filter((n) => n.opType === 'MatMulNBits');
      assert.ok(nbits.length > 0 && nbits.every((n) => n.ints.accuracy_level === 4));
    } else {
      assert.ok(!ix.nodes.some((n) => n.opType === 'Cast' && n.outputs[0] === 'logits'));
    }
    const ids = seededIds(24, copy.config.vocabSize, 21);
    const d = await maxDiff(copy, original, ids);
    assert.ok(d <= tolerance, `${variant}: max |copy − original| = ${d}`);
    const reference = await rowsByGrouping(copy, ids, [ids.length]);
    await assertGroupingsExact(copy, ids, reference, [[1], [1, 4, 2, 7], [5, 1, 1, 9]], `${variant} copy: `);
    await copy.dispose();
    await original.dispose();
  });
}

test('fused copies are keyed by content: the same download in another folder reuses the copy; a changed config makes a new one', () => {
  const ci = ciStandin();
  const file = path.join(ci.target, 'onnx', 'model_q4.onnx');
  const first = fusedFile(ci.target, file, cache);
  assert.ok(first.file.startsWith(path.join(cache, 'fused')));
  const other = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fused-moved-'));
  try {
    fs.cpSync(ci.target, other, { recursive: true });
    const moved = fusedFile(other, path.join(other, 'onnx', 'model_q4.onnx'), cache);
    assert.equal(moved.file, first.file);
    assert.match(moved.note ?? '', /cached/);
    assert.equal(moved.madeFrom, undefined, 'nothing made');
    const cfg = path.join(other, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfg, 'utf8')), rms_norm_eps: 1e-5 }));
    assert.notEqual(fusedKey(other, path.join(other, 'onnx', 'model_q4.onnx')), fusedKey(ci.target, file));
    // A copy for the changed folder replaces the copies that served only that folder; the first folder's stays.
    const changed = fusedFile(other, path.join(other, 'onnx', 'model_q4.onnx'), cache);
    assert.ok(changed.madeFrom && changed.file !== first.file);
    assert.ok(fs.existsSync(first.file), 'still serves the first folder');
    const otherOnly = fusedFile(other, path.join(other, 'onnx', 'model_fp16.onnx'), cache);
    fs.writeFileSync(cfg, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfg, 'utf8')), rms_norm_eps: 1e-4 }));
    const replaced = fusedFile(other, path.join(other, 'onnx', 'model_fp16.onnx'), cache);
    assert.ok(replaced.madeFrom && fs.existsSync(replaced.file));
    assert.ok(!fs.existsSync(otherOnly.file), 'the copy of the file since replaced is pruned');
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test('a file that is not rebuilt (dynamic int8) is told apart from its structure: never announced as being copied, marked once', () => {
  const ci = ciStandin();
  const own = path.join(cache, 'int8');
  const file = path.join(ci.target, 'onnx', 'model_int8.onnx');
  const r = fusedFile(ci.target, file, own, 'background');
  assert.deepEqual([r.file, r.note, r.pending], [file, null, undefined]);
  const marks = fs.readdirSync(path.join(own, 'fused')).filter((n) => n.endsWith('.skip'));
  assert.equal(marks.length, 1);
  assert.match(fs.readFileSync(path.join(own, 'fused', marks[0]), 'utf8'), /quantized with (MatMulInteger|DequantizeLinear|DynamicQuantizeLinear)/);
});

test('a copy killed halfway is never loaded: its temporary folder is removed, the copy made again; a cancelled job leaves nothing', async () => {
  const ci = ciStandin();
  const own = path.join(cache, 'killed');
  const file = path.join(ci.target, 'onnx', 'model_fp16.onnx');
  const key = fusedKey(ci.target, file);
  // What a process killed during the export leaves: a temporary folder with part of a model, named after its pid.
  const dead = path.join(own, 'fused', '.tmp-999999999-abc');
  fs.mkdirSync(dead, { recursive: true });
  fs.writeFileSync(path.join(dead, 'model.onnx'), Buffer.alloc(1000, 7));
  const job = { dir: ci.target, file, copy: path.join(own, 'fused', key, 'model.onnx'), bytes: fs.statSync(file).size };
  const cancelled = runFusedJob(job);
  await cancelled.cancel();
  await assert.rejects(cancelled.done, /cancelled|exit/);
  assert.ok(!fs.existsSync(job.copy), 'a cancelled job leaves no copy');
  assert.deepEqual(fs.readdirSync(path.join(own, 'fused')).filter((n) => n.startsWith(`.tmp-${process.pid}`)), []);
  const progress: number[] = [];
  const nodes = await runFusedJob(job, (p) => progress.push(p.done / p.total)).done;
  assert.ok(nodes > 0 && fs.existsSync(job.copy));
  assert.ok(!fs.existsSync(dead), 'the dead process\'s folder is gone');
  assert.ok(progress.length > 0 && progress[progress.length - 1] === 1, `progress ${progress.join(',')}`);
  const m = await CausalLM.load(ci.target, { threads: 1, variant: 'fp16', cacheDir: own });
  assert.equal(m.loadedFile, job.copy);
  await m.dispose();
});

test('a process killed (SIGKILL) in the middle of an export leaves no copy that loads; the next start makes a whole one', async () => {
  const ci = ciStandin();
  const own = path.join(cache, 'sigkill');
  const file = path.join(ci.target, 'onnx', 'model.onnx');
  const job = { dir: ci.target, file, copy: path.join(own, 'fused', fusedKey(ci.target, file), 'model.onnx'), bytes: fs.statSync(file).size };
  // The child writes part of the copy, says so, then waits to be killed.
  const script = `
    const { makeFusedCopy } = require(${JSON.stringify(path.join(__dirname, '..', '..', '..', 'src', 'engine', 'runtime', 'fusedModel.js'))});
    let told = false;
    makeFusedCopy(${JSON.stringify(job)}, (done, total) => {
      if (told || done < total / 4) return;
      told = true;
      process.stdout.write('halfway\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('halfway')) resolve(); });
    child.on('exit', (code) => reject(new Error(`the child exited (${code}) before halfway`)));
  });
  const tmps = fs.readdirSync(path.join(own, 'fused')).filter((n) => n.startsWith(`.tmp-${child.pid}-`));
  assert.equal(tmps.length, 1, 'a temporary folder is being written');
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(!fs.existsSync(job.copy), 'no copy at the key');
  const m = await CausalLM.load(ci.target, { threads: 1, variant: 'fp32', cacheDir: own });
  assert.equal(m.loadedFile, job.copy, 'the next start made a whole copy');
  assert.ok(!fs.existsSync(path.join(own, 'fused', tmps[0])), 'the killed process\'s folder is gone');
  await m.dispose();
});

test('background mode: the engine serves from the original at once, makes the copy in a worker, then swaps it in; drafters still agree', async () => {
  const ci = ciStandin();
  const own = path.join(cache, 'background');
  const events: FusedEvent[] = [];
  // The ci stand-in is small (its copy would be made before loading): the threshold is lowered to see the background path.
  const engine = await Engine.create({ target: ci.target, variant: 'q4', threads: 1, cacheDir: own, fusedMode: 'background', fusedWaitMaxBytes: 0 });
  engine.onEvent((e) => events.push(e));
  assert.ok(!engine.target.loadedFile.includes(`${path.sep}fused${path.sep}`), engine.target.loadedFile);
  assert.match(engine.info().loadNotes.join('; '), /while its fused-operator copy is made in the background/);
  const req = (drafter: string) => ({
    before: 'function add(a, b) {\n  return', after: '\n}\n', maxTokens: 12, seed: 7, drafter, coupling: 'gumbel' as const,
    sampling: { temperature: 0.7, topK: 0, topP: 1 }, gamma: 4, mode: 'free' as const,
  });
  const before = await engine.complete(req('none'));
  assert.ok(before.tokens > 0);
  await engine.fusedReady();
  const texts = [];
  for (const d of ['none', 'prompt-lookup', 'none']) texts.push((await engine.complete(req(d))).text);
  assert.ok(engine.target.loadedFile.startsWith(path.join(own, 'fused')), engine.target.loadedFile);
  assert.deepEqual(new Set(texts).size, 1, JSON.stringify(texts));
  assert.ok(events.some((e) => e.type === 'fused-progress'));
  assert.ok(events.some((e) => e.type === 'fused-applied'), JSON.stringify(events.map((e) => e.type)));
  assert.match(engine.info().loadNotes[0], /^target: .*using its fused-operator copy \(made in the background/);
  assert.equal(engine.exactness.exact, true);
  await engine.dispose();
  // The next start loads the copy straight away.
  const again = await Engine.create({ target: ci.target, variant: 'q4', threads: 1, cacheDir: own, fusedMode: 'background', fusedWaitMaxBytes: 0 });
  assert.ok(again.target.loadedFile.startsWith(path.join(own, 'fused')));
  await again.dispose();
});

test('lockstep export-fused --variant q4 keeps the blocks; --q4 --block-size 64 --compare requantizes the fp32 file and reports its error', async () => {
  const ci = ciStandin();
  const out = path.join(cache, 'export-q4');
  const kept = await run('export-fused', '--model', ci.target, '--out', out, '--variant', 'q4');
  assert.equal(kept.code, 0, kept.stderr);
  assert.ok(fs.existsSync(path.join(out, 'onnx', 'model_q4.onnx')));
  const out64 = path.join(cache, 'export-q4-64');
  const r = await run('export-fused', '--model', ci.target, '--out', out64, '--q4', '--block-size', '64', '--compare');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /against the source: max \|Δlogit\| [\d.e-]+, RMS [\d.]+ % of the source's, argmax equal on \d+\/64 tokens/);
  const nodes = indexOnnx(path.join(out64, 'onnx', 'model_q4.onnx')).nodes.filter((n) => n.opType === 'MatMulNBits');
  assert.ok(nodes.length > 0 && nodes.every((n) => n.ints.block_size === 64));
  // --q4-head: only the head in 4 bits (the other projections stay float MatMul).
  const outHead = path.join(cache, 'export-q4-head');
  const h = await run('export-fused', '--model', ci.target, '--out', outHead, '--q4-head', '--compare');
  assert.equal(h.code, 0, h.stderr);
  const hx = indexOnnx(path.join(outHead, 'onnx', 'model.onnx'));
  assert.deepEqual(hx.nodes.filter((n) => n.opType === 'MatMulNBits').map((n) => n.outputs[0]), ['logits']);
  assert.ok(hx.nodes.some((n) => n.opType === 'MatMul'));
  const bad = await run('export-fused', '--model', ci.target, '--out', path.join(cache, 'x'), '--q4', '--block-size', '48');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--block-size takes a power of two/);
});

test('background mode, a small file (the shipped models): the copy is made before the first completion, so one file serves the session', async () => {
  const ci = ciStandin();
  const own = path.join(cache, 'small-first');
  const engine = await Engine.create({ target: ci.target, variant: 'fp16', threads: 1, cacheDir: own, fusedMode: 'background' });
  assert.ok(engine.target.loadedFile.startsWith(path.join(own, 'fused')), engine.target.loadedFile);
  await engine.fusedReady();
  await engine.dispose();
});
