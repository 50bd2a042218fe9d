/**
 * fastQ4.ts: a q4 file whose MatMulNBits nodes lack accuracy_level is loaded on the CPU through a cached copy with
 * accuracy_level 4. The copy differs only in those nodes, the original is untouched, the copy is reused, external
 * data is found, the patched model is exact across call groupings and computes what a file written with
 * accuracy_level 4 computes, and the drafter changes no byte of the text.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CausalLM } from '../../../src/engine/runtime/model';
import { CompletionRequest, Engine } from '../../../src/engine/process/engine';
import { lockstepCacheDir } from '../../../src/engine/runtime/cacheDir';
import { Reader, fastQ4File, scanModel, varintBytes } from '../../../src/engine/runtime/fastQ4';
import { writeModel } from '../../../src/onnx/onnxModel';
import { shapeOf } from '../../../tools/standin/config';
import { StandinResult, generateStandin } from '../../../tools/standin/generate';
import { buildGraph } from '../../../tools/standin/graph';
import { weight } from '../../../tools/standin/weights';
import { ciStandin, variantView } from '../../helpers/standin';
import { PREFIX, SUFFIX, run } from '../../helpers/cli';
import { rowsByGrouping, rowsEqualBitwise, seededIds } from '../../helpers/models';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fastq4-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let ci: StandinResult;
let q4: string;
before(() => {
  ci = ciStandin();
  q4 = path.join(ci.target, 'onnx', 'model_q4.onnx');
});

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const planOf = (f: string) => {
  const fd = fs.openSync(f, 'r');
  try {
    return scanModel(new Reader(fd, fs.fstatSync(fd).size));
  } finally {
    fs.closeSync(fd);
  }
};

test('the cache folder: LOCKSTEP_CACHE_DIR, else XDG_CACHE_HOME/lockstep, else ~/.cache/lockstep', () => {
  assert.equal(lockstepCacheDir({ LOCKSTEP_CACHE_DIR: '/c' }), '/c');
  assert.equal(lockstepCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/lockstep');
  assert.equal(lockstepCacheDir({}), path.join(os.homedir(), '.cache', 'lockstep'));
});

test('the stand-in q4 lacks accuracy_level like onnx-community\'s; the copy adds it to every MatMulNBits node only', () => {
  const cache = path.join(tmp, 'c1');
  const before = sha(q4);
  const plan = planOf(q4);
  assert.ok(plan.nodes > 0, 'the stand-in q4 should have MatMulNBits nodes without accuracy_level');
  const r = fastQ4File(q4, cache);
  assert.equal(r.patchedNodes, plan.nodes);
  assert.notEqual(r.file, q4);
  assert.ok(r.file.startsWith(cache + path.sep));
  assert.match(r.note ?? '', /accuracy_level 4 \(made now/);
  assert.equal(sha(q4), before, 'the original is never written');
  assert.equal(planOf(r.file).nodes, 0, 'every node of the copy has accuracy_level');
  // Bytes outside the edits are the original's: the copy grows by exactly the edits' growth.
  const orig = fs.readFileSync(q4);
  const copy = fs.readFileSync(r.file);
  const growth = plan.edits.reduce((s, e) => s + e.bytes.length - (e.end - e.start), 0);
  assert.equal(copy.length, orig.length + growth);
  assert.ok(copy.subarray(copy.length - 4096).equals(orig.subarray(orig.length - 4096)));
  const mtime = fs.statSync(r.file).mtimeMs;
  const again = fastQ4File(q4, cache);
  assert.equal(again.file, r.file);
  assert.match(again.note ?? '', /\(cached/);
  assert.equal(fs.statSync(r.file).mtimeMs, mtime, 'a cached copy is not rewritten');
  // A file with accuracy_level already (or no MatMulNBits) is loaded as it is.
  assert.deepEqual(fastQ4File(r.file, cache), { file: r.file, patchedNodes: 0, note: null });
  const fp32 = fastQ4File(path.join(ci.target, 'onnx', 'model.onnx'), cache);
  assert.equal(fp32.note, null);
  // Not a protobuf: left to onnxruntime, whose load error names the problem.
  const junk = path.join(tmp, 'junk.onnx');
  fs.writeFileSync(junk, Buffer.from([0xff, 0xff, 0xff]));
  assert.deepEqual(fastQ4File(junk, cache), { file: junk, patchedNodes: 0, note: null });
});

test('a changed original gets a new copy, and the stale one is removed', () => {
  const cache = path.join(tmp, 'c2');
  const file = path.join(tmp, 'changing', 'model_q4.onnx');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(q4, file);
  const first = fastQ4File(file, cache).file;
  fs.appendFileSync(file, Buffer.from([0x10, 0x01]));
  const second = fastQ4File(file, cache).file;
  assert.notEqual(second, first);
  assert.ok(!fs.existsSync(first), 'the stale copy is removed');
  assert.ok(fs.existsSync(second));
});

test('no copy can be made (cache not writable): the original is loaded and the note says why', () => {
  const blocker = path.join(tmp, 'blocker');
  fs.writeFileSync(blocker, 'a file where the cache folder should be');
  const r = fastQ4File(q4, blocker);
  assert.equal(r.file, q4);
  assert.match(r.note ?? '', /no patched copy .*slow path/);
});

test('the patched q4 is bitwise exact across groupings [1],[2],[3],[1,4,2,7] and equals a file written with accuracy_level 4', async () => {
  const cache = path.join(tmp, 'c3');
  const m = await CausalLM.load(ci.target, { variant: 'q4', cacheDir: cache, threads: 1, fusedOps: false });
  assert.match(m.loadNote ?? '', /accuracy_level 4/);
  assert.ok(m.loadedFile.startsWith(cache));
  const ids = seededIds(24, m.config.vocabSize, 5);
  const reference = await rowsByGrouping(m, ids, [ids.length]);
  for (const sizes of [[1], [2], [3], [1, 4, 2, 7]]) {
    const rows = await rowsByGrouping(m, ids, sizes);
    rows.forEach((r, i) => assert.ok(rowsEqualBitwise(r, reference[i]), `grouping ${sizes}: row ${i} differs from one prefill`));
  }
  const al4 = generateStandin({ size: 'ci', variants: ['q4'], out: path.join(tmp, 'al4'), seed: 0, accuracyLevel: 4 });
  const written = await CausalLM.load(al4.target, { variant: 'q4', cacheDir: cache, threads: 1, fusedOps: false });
  assert.equal(written.loadNote, null);
  const rows = await rowsByGrouping(written, ids, [ids.length]);
  rows.forEach((r, i) => assert.ok(rowsEqualBitwise(r, reference[i]), `row ${i} differs from the accuracy_level-4 file`));
  const off = await CausalLM.load(ci.target, { variant: 'q4', cacheDir: cache, threads: 1, fusedOps: false, fastQuantizedKernels: false });
  assert.equal(off.loadedFile, q4);
  assert.equal(off.loadNote, null);
  const slow = await rowsByGrouping(off, ids, [ids.length]);
  assert.ok(slow.some((r, i) => !rowsEqualBitwise(r, reference[i])), 'without the patch onnxruntime takes another kernel');
  await Promise.all([m.dispose(), written.dispose(), off.dispose()]);
});

test('external data is found: hard-linked next to the copy, and relinked when the original is replaced', async () => {
  const dir = path.join(tmp, 'ext');
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const f of fs.readdirSync(ci.target)) if (f.endsWith('.json')) fs.copyFileSync(path.join(ci.target, f), path.join(dir, f));
  const shape = shapeOf('ci');
  const spec = buildGraph(shape, { variant: 'q4', layers: shape.layers }, (name) => weight(shape, 0, name));
  writeModel(path.join(dir, 'onnx', 'model_q4.onnx'), spec, { externalData: 'model_q4.onnx_data' });
  const cache = path.join(tmp, 'c4');
  const m = await CausalLM.load(dir, { variant: 'q4', cacheDir: cache, threads: 1, fusedOps: false });
  const linked = path.join(path.dirname(m.loadedFile), 'model_q4.onnx_data');
  assert.equal(fs.statSync(linked).ino, fs.statSync(path.join(dir, 'onnx', 'model_q4.onnx_data')).ino);
  const inline = await CausalLM.load(ci.target, { variant: 'q4', cacheDir: cache, threads: 1, fusedOps: false });
  const ids = seededIds(6, m.config.vocabSize, 9);
  const [a, b] = [await rowsByGrouping(m, ids, [6]), await rowsByGrouping(inline, ids, [6])];
  a.forEach((r, i) => assert.ok(rowsEqualBitwise(r, b[i]), `row ${i}`));
  await Promise.all([m.dispose(), inline.dispose()]);
  // A re-download replaces the data file (a new inode): the link follows it.
  const data = path.join(dir, 'onnx', 'model_q4.onnx_data');
  fs.copyFileSync(data, `${data}.new`);
  fs.renameSync(`${data}.new`, data);
  fastQ4File(path.join(dir, 'onnx', 'model_q4.onnx'), cache);
  assert.equal(fs.statSync(linked).ino, fs.statSync(data).ino);
});

test('drafter invariance on the patched stand-in: the text with the drafter is the text without, and EngineInfo says why', async () => {
  const cache = path.join(tmp, 'c5');
  const e = await Engine.create({
    target: ci.target, variant: 'q4', threads: 1, cacheDir: cache, fusedOps: false, drafters: [{ name: 'd', dir: ci.drafter!, variant: 'q4' }],
  });
  const notes = e.info().loadNotes;
  assert.equal(notes.length, 2, notes.join('\n'));
  assert.match(notes[0], /^target: model_q4\.onnx: \d+ MatMulNBits nodes have no accuracy_level/);
  assert.match(notes[1], /^drafter d: /);
  let accepted = 0;
  for (let c = 0; c < 12; c++) {
    const base: CompletionRequest = {
      before: `def f${c}(a, b):\n    return a`, after: '\n', drafter: 'none', coupling: c % 2 ? 'wmh' : 'gumbel', seed: c,
      sampling: { temperature: [0, 0.7, 1][c % 3], topK: 0, topP: 1 }, gamma: 1, maxTokens: 16, mode: 'free',
    };
    const ref = await e.complete(base);
    const got = await e.complete({ ...base, drafter: 'd', gamma: 1 + (c % 4) });
    accepted += got.accepted;
    assert.equal(got.text, ref.text, `case ${c}`);
  }
  assert.ok(accepted > 0, 'the drafter must have been accepted sometimes');
  await e.dispose();
});

test('lockstep complete: --debug prints the note, --no-fast-q4 loads the file as it is', async () => {
  const view = variantView(ci.target, 'q4');
  const args = ['complete', '--target', view, '--drafter', 'none', '--prefix', PREFIX, '--suffix', SUFFIX, '--max-tokens', '4', '--debug', '--no-fused'];
  const on = await run(...args);
  assert.equal(on.code, 0, on.stderr);
  assert.match(on.stderr, /lockstep: target: model\.onnx: \d+ MatMulNBits nodes have no accuracy_level/);
  const off = await run(...args, '--no-fast-q4');
  assert.equal(off.code, 0, off.stderr);
  assert.doesNotMatch(off.stderr, /accuracy_level/);
  assert.match(off.stderr, /"loadNotes":\[\]/);
});

/** A length-delimited protobuf field. */
const field = (n: number, body: Uint8Array | string): Buffer => {
  const b = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
  return Buffer.concat([varintBytes(n * 8 + 2), varintBytes(b.length), b]);
};

test('an external-data location that leaves the model folder ("..", absolute) is refused before any link', () => {
  for (const location of ['../secret.bin', path.join(tmp, 'secret.bin')]) {
    const node = Buffer.concat([field(4, 'MatMulNBits'), field(7, 'com.microsoft')]);
    const tensor = Buffer.concat([field(8, 'W'), field(13, Buffer.concat([field(1, 'location'), field(2, location)]))]);
    const graph = Buffer.concat([field(1, node), field(5, tensor)]);
    const dir = fs.mkdtempSync(path.join(tmp, 'escape-'));
    const file = path.join(dir, 'model_q4.onnx');
    fs.writeFileSync(file, field(7, graph));
    fs.writeFileSync(path.join(tmp, 'secret.bin'), 'not yours');
    const cache = path.join(tmp, 'c6');
    const r = fastQ4File(file, cache);
    assert.equal(r.file, file);
    assert.match(r.note ?? '', /leaves the model folder.*slow path/);
    const linked = fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }).map(String).filter((f) => f.endsWith('secret.bin')) : [];
    assert.deepEqual(linked, []);
  }
});

test('the patched q4f16 (fp16 activations) is bitwise exact across the same groupings', async () => {
  const m = await CausalLM.load(ci.target, { variant: 'q4f16', cacheDir: path.join(tmp, 'c7'), threads: 1, fusedOps: false });
  assert.match(m.loadNote ?? '', /^model_q4f16\.onnx: \d+ MatMulNBits nodes have no accuracy_level/);
  const ids = seededIds(24, m.config.vocabSize, 5);
  const reference = await rowsByGrouping(m, ids, [ids.length]);
  for (const sizes of [[1], [2], [3], [1, 4, 2, 7]]) {
    const rows = await rowsByGrouping(m, ids, sizes);
    rows.forEach((r, i) => assert.ok(rowsEqualBitwise(r, reference[i]), `grouping ${sizes}: row ${i} differs from one prefill`));
  }
  await m.dispose();
});
