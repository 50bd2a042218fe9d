/**
 * The fused-operator copy of a model (src/onnx/fusedGraph.ts, loaded by the engine on the CPU through
 * src/engine/runtime/fusedModel.ts): its logits match the Optimum file's (a weight mapped to the wrong place would not), it
 * runs ~100 nodes instead of ~600, the engine's exactness probe runs on it and finds a call rule, rollback of
 * rejected drafts gives the bits of never having fed them, and completions are byte-identical across drafters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CompletionRequest, Engine } from '../../../src/engine/process/engine';
import { HEAD_MAJOR_STEP, HeadMajorCache } from '../../../src/engine/runtime/kvLayout';
import { CausalLM } from '../../../src/engine/runtime/model';
import { exportFusedDir } from '../../../src/onnx/fusedExport';
import { readOnnxWeights } from '../../../src/onnx/onnxWeights';
import { DRAFTER_B_DIR, TARGET_DIR, assertGroupingsExact, rowsByGrouping, rowsEqualBitwise, seededIds } from '../../helpers/models';
import { heldOutPrompts } from '../../helpers/prompts';
import { ciStandin } from '../../helpers/standin';

const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fused-'));
process.on('exit', () => fs.rmSync(cache, { recursive: true, force: true }));

async function maxDiff(dir: string, prompts: number[][]): Promise<{ diff: number; fusedFile: string }> {
  const plain = await CausalLM.load(dir, { threads: 1, variant: 'fp32', fusedOps: false, cacheDir: cache });
  const fused = await CausalLM.load(dir, { threads: 1, variant: 'fp32', cacheDir: cache });
  let diff = 0;
  for (const ids of prompts) {
    const a = await rowsByGrouping(plain, ids, [ids.length]);
    const b = await rowsByGrouping(fused, ids, [5, 2, 3]);
    for (let r = 0; r < ids.length; r++) for (let i = 0; i < a[r].length; i++) diff = Math.max(diff, Math.abs(a[r][i] - b[r][i]));
  }
  const fusedFile = fused.loadedFile;
  assert.equal(plain.loadedFile, path.join(dir, 'onnx', 'model.onnx'));
  await plain.dispose();
  await fused.dispose();
  return { diff, fusedFile };
}

test('shipped target: the fused copy gives the Optimum file\'s logits (max |Δ| < 1e-3) on ~130 nodes with GroupQueryAttention', async () => {
  const prompts = [seededIds(33, 4096, 1), seededIds(20, 4096, 2), seededIds(47, 4096, 3)];
  const { diff, fusedFile } = await maxDiff(TARGET_DIR, prompts);
  assert.ok(diff < 1e-3, `max |fused − optimum| = ${diff}`);
  assert.ok(fusedFile.startsWith(path.join(cache, 'fused')), fusedFile);
  const ops = readOnnxWeights(fusedFile).nodes.map((n) => n.opType);
  assert.equal(ops.filter((o) => o === 'GroupQueryAttention').length, 8);
  assert.ok(ops.length < 140, `${ops.length} nodes`);
  assert.ok(!ops.includes('Expand'), 'no GQA repeat');
  // The engine's copy has the head-major cache (kvLayout.ts): the past goes in as it is (no Transpose), one Slice per
  // layer and kind takes the call's rows, and the only Concat joins those rows into the one present_rows output.
  assert.equal(ops.filter((o) => o === 'Transpose').length, 0);
  assert.equal(ops.filter((o) => o === 'Slice').length, 16);
  const concats = readOnnxWeights(fusedFile).nodes.filter((n) => n.opType === 'Concat');
  assert.deepEqual(concats.map((n) => n.outputs), [['present_rows']]);
});

test('fused target: the time-major and BNSH exports give the head-major copy\'s rows bitwise', async () => {
  const ids = seededIds(24, 4096, 12);
  const engineCopy = await CausalLM.load(TARGET_DIR, { threads: 1, cacheDir: cache });
  const reference = await rowsByGrouping(engineCopy, ids, [3, 5, 2, 14]);
  await engineCopy.dispose();
  for (const layout of ['time-major', 'bnsh'] as const) {
    const out = path.join(cache, `exported-${layout}`);
    exportFusedDir(TARGET_DIR, out, { cache: layout });
    const m = await CausalLM.load(out, { threads: 1, cacheDir: cache });
    const rows = await rowsByGrouping(m, ids, [4, 1, 6, 13]);
    assert.equal(rows.filter((r, i) => rowsEqualBitwise(r, reference[i])).length, ids.length, layout);
    await m.dispose();
  }
});

test('ci Qwen2.5-Coder stand-in (q/k/v biases, external data): fused logits match the Optimum file\'s', async () => {
  const ci = ciStandin();
  const { diff, fusedFile } = await maxDiff(ci.target, [seededIds(30, 151936, 4), seededIds(17, 151936, 5)]);
  assert.ok(diff < 1e-3, `max |fused − optimum| = ${diff}`);
  assert.ok(fusedFile.startsWith(path.join(cache, 'fused')), fusedFile);
});

test('lockstep export-fused\'s folder loads as a model folder and keeps config, tokenizer and a fused.json marker', async () => {
  const out = path.join(cache, 'exported');
  const r = exportFusedDir(TARGET_DIR, out);
  assert.ok(r.nodes < 140);
  for (const f of ['config.json', 'tokenizer.json', 'fused.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  // Already fused: the engine loads it as it is.
  const m = await CausalLM.load(out, { threads: 1, cacheDir: cache });
  assert.equal(m.loadedFile, path.join(out, 'onnx', 'model.onnx'));
  assert.equal(m.loadNote, null);
  await m.dispose();
});

test('export-fused --q4: MatMulNBits projections (accuracy_level 4), exact under the padded rule, close to fp32', async () => {
  const out = path.join(cache, 'exported-q4');
  exportFusedDir(TARGET_DIR, out, { q4: { blockSize: 32, accuracyLevel: 4 } });
  const file = path.join(out, 'onnx', 'model_q4.onnx');
  assert.equal(readOnnxWeights(file).nodes.filter((n) => n.opType === 'MatMulNBits').length, 8 * 5 + 1);
  const m = await CausalLM.load(out, { threads: 1, cacheDir: cache });
  assert.equal(m.loadedFile, file);
  const ids = seededIds(32, m.config.vocabSize, 8);
  const reference = await rowsByGrouping(m, ids, [ids.length]);
  await assertGroupingsExact(m, ids, reference, [[1], [1, 4, 2, 7], [5, 1, 1, 9]]);
  const fp32 = await CausalLM.load(TARGET_DIR, { threads: 1, cacheDir: cache });
  const full = await rowsByGrouping(fp32, ids, [ids.length]);
  const argmax = (r: Float32Array) => r.reduce((b, x, i) => (x > r[b] ? i : b), 0);
  const agree = full.filter((r, i) => argmax(r) === argmax(reference[i])).length;
  assert.ok(agree >= ids.length * 0.5, `q4 and fp32 argmax agree on ${agree}/${ids.length} rows`);
  await m.dispose();
  await fp32.dispose();
});

test('fused target: bitwise the same rows however tokens are grouped into calls of ≥ 2 (the padded rule), and rollback', async () => {
  const m = await CausalLM.load(TARGET_DIR, { threads: 1, cacheDir: cache });
  const ids = seededIds(48, m.config.vocabSize, 11);
  const reference = await rowsByGrouping(m, ids, [48]);
  await assertGroupingsExact(m, ids, reference, [[1], [2], [3], [1, 4, 2, 7], [5, 1, 1, 9], [16, 1]]);
  // Rollback: feed 5 wrong "drafts" after each accepted prefix, cut them back, go on; the rows must be the reference's.
  m.reset();
  const rows: Float32Array[] = [];
  for (let p = 0; p < ids.length;) {
    const n = Math.min(3, ids.length - p);
    const out = await m.forward(ids.slice(p, p + n));
    for (let i = 0; i < n; i++) rows.push(out.row(i).slice());
    p += n;
    if (p < ids.length) {
      await m.forward(seededIds(5, m.config.vocabSize, p));
      await m.truncate(p);
    }
  }
  assert.equal(rows.filter((r, i) => rowsEqualBitwise(r, reference[i])).length, ids.length);
  await m.dispose();
});

test('fused target: the head-major buffer follows the cache (grown and halved in steps of 256), the rows the same bits', async () => {
  const m = await CausalLM.load(TARGET_DIR, { threads: 1, cacheDir: cache });
  assert.equal(HEAD_MAJOR_STEP, 256);
  const ids = seededIds(300, m.config.vocabSize, 21);
  // One call: the buffer is 512 rows from the start.
  const reference = await rowsByGrouping(m, ids, [300]);
  // After a reset the first calls need ≤ 256 rows (halved to 256), then 250 + 4 + 2 = 256 → 258: grown to 512 with
  // the valid rows moved; every row must be the one-call row.
  await assertGroupingsExact(m, ids, reference, [[250, 4, 2, 44], [2, 255, 43]]);
  // The buffer fed is the capacity, not the model's 512 positions, when the cache is short.
  const feeds: Record<string, unknown> = {};
  const c = new HeadMajorCache({ numLayers: 1, numKeyValueHeads: 2, headDim: 4, maxPositions: 32768 });
  c.addFeeds(feeds as Record<string, never>, 0, 10);
  assert.deepEqual((feeds['past_key_values.0.key'] as { dims: number[] }).dims, [1, 2, 256, 4]);
  c.addFeeds(feeds as Record<string, never>, 0, 1000);
  assert.deepEqual((feeds['past_key_values.0.value'] as { dims: number[] }).dims, [1, 2, 1024, 4]);
  await m.dispose();
});

test('a fused copy that does not give its original\'s logits is dropped: the file loads as it is, and no copy is made again', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fused-bad-'));
  const badCache = path.join(dir, 'cache');
  const model = path.join(dir, 'model');
  fs.cpSync(TARGET_DIR, model, { recursive: true });
  // config.json disagrees with the graph: the Optimum file's rotary tables are baked in for θ = 10 000, the copy is
  // built from config.json's θ. Any weight the exporter misreads would show the same way.
  const cfgPath = path.join(model, 'config.json');
  fs.writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgPath, 'utf8')), rope_theta: 500000 }));
  try {
    const file = path.join(model, 'onnx', 'model.onnx');
    const m = await CausalLM.load(model, { threads: 1, cacheDir: badCache });
    assert.equal(m.loadedFile, file);
    assert.match(m.loadNote ?? '', /fused-operator copy was dropped: its logits differ from the original's by up to/);
    await m.dispose();
    const again = await CausalLM.load(model, { threads: 1, cacheDir: badCache });
    assert.equal(again.loadedFile, file);
    assert.equal(again.loadNote, null, 'not made (nor checked) again');
    await again.dispose();
    // The shipped target's copy passes the same check and is kept (the first test loads it from the cache).
    const good = await CausalLM.load(TARGET_DIR, { threads: 1, cacheDir: badCache });
    assert.ok(good.loadedFile.startsWith(path.join(badCache, 'fused')), good.loadedFile);
    await good.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fused target: the exactness probe runs and finds a call rule; completions are byte-identical across drafters at T = 0 and 0.7', async () => {
  const engine = await Engine.create({ target: TARGET_DIR, threads: 1, cacheDir: cache, drafters: [{ name: 'drafter-b', dir: DRAFTER_B_DIR }] });
  const info = engine.info();
  assert.ok(info.loadNotes.some((n) => n.startsWith('target:') && /fused-operator copy/.test(n)), info.loadNotes.join('; '));
  assert.equal(info.exactness.exact, true, JSON.stringify(info.exactness));
  console.log(`fused target verdict: rule ${info.exactness.rule} (${info.exactness.rowsEqual}/${info.exactness.rows} rows equal)`);
  const prompts = heldOutPrompts(8, 5);
  const mismatches: string[] = [];
  let drafted = 0;
  for (let c = 0; c < prompts.length; c++) {
    for (const temperature of [0, 0.7]) {
      const base: CompletionRequest = {
        before: prompts[c].before, after: prompts[c].after, drafter: 'none', coupling: 'gumbel', seed: c * 31,
        sampling: { temperature, topK: 0, topP: 1 }, gamma: 4, maxTokens: 24, mode: 'free',
      };
      const ref = await engine.complete(base);
      for (const drafter of ['drafter-b', 'prompt-lookup']) {
        const got = await engine.complete({ ...base, drafter });
        drafted += got.drafted;
        if (Buffer.compare(Buffer.from(got.text), Buffer.from(ref.text)) !== 0) mismatches.push(`${c} T=${temperature} ${drafter}`);
      }
    }
  }
  await engine.dispose();
  assert.deepEqual(mismatches, []);
  assert.ok(drafted > 50, `drafted ${drafted}`);
});
