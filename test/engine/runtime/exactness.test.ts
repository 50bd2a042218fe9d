import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, type CompletionRequest } from '../../../src/engine/process/engine';
import { describeVerdict, groupingSteps, probesRun } from '../../../src/engine/runtime/exactness';
import { lockstepCacheDir } from '../../../src/engine/runtime/cacheDir';
import { DRAFTER_B_DIR, TARGET_DIR } from '../../helpers/models';
import { inexactModelDir, variantsDir } from '../../helpers/inexactModel';

const cacheDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-exactness-'));

function req(before: string, drafter: string, temperature = 0.7): CompletionRequest {
  return {
    before, after: '\n}\n', drafter, coupling: 'gumbel', seed: 11, sampling: { temperature, topK: 0, topP: 1 },
    gamma: 4, maxTokens: 24, mode: 'free',
  };
}

test('grouping patterns: repeated until the sequence is fed, rollbacks included', () => {
  assert.deepEqual(groupingSteps([1, 4, 2, 7], 24), [1, 4, 2, 7, 1, 4, 2, 3]);
  assert.deepEqual(groupingSteps([16, 1], 20), [16, 1, 3]);
  assert.deepEqual(groupingSteps([4, -2, 5, -3, 3], 12), [4, -2, 5, -3, 3, 4, -2, 3]);
});

test('the cache folder: LOCKSTEP_CACHE_DIR, else XDG_CACHE_HOME/lockstep, else ~/.cache/lockstep', () => {
  assert.equal(lockstepCacheDir({ LOCKSTEP_CACHE_DIR: '/x/y' }), '/x/y');
  assert.equal(lockstepCacheDir({ XDG_CACHE_HOME: '/c' }), path.join('/c', 'lockstep'));
  if (process.platform !== 'win32') assert.equal(lockstepCacheDir({}), path.join(os.homedir(), '.cache', 'lockstep'));
});

test('shipped target: probed exact with calls of ≥ 2 tokens; the second load reads the cache (no probe)', async () => {
  const dir = cacheDir();
  const before = probesRun();
  const a = await Engine.create({ target: TARGET_DIR, threads: 1, cacheDir: dir });
  const v = a.info().exactness;
  await a.dispose();
  assert.equal(probesRun(), before + 1);
  assert.equal(v.exact, true);
  assert.equal(v.rule, 'min2');
  assert.equal(v.cached, false);
  assert.equal(v.results.length, 1, 'the cheapest rule was exact: no other rule tried');
  for (const g of v.results[0].groupings) assert.equal(g.equal, g.rows, `grouping ${g.grouping}`);
  assert.equal(`${v.rowsEqual}/${v.rows}`, '120/120');
  assert.match(describeVerdict(v), /^fp32 on cpu, 1 thread: exact with calls of ≥ 2 tokens \(120\/120 rows equal\)$/);
  assert.equal(fs.readdirSync(path.join(dir, 'exactness')).length, 1);

  const b = await Engine.create({ target: TARGET_DIR, threads: 1, cacheDir: dir });
  assert.equal(probesRun(), before + 1, 'a cached verdict runs no probe');
  assert.equal(b.info().exactness.cached, true);
  assert.equal(b.info().exactness.rule, 'min2');
  // Another thread count is another key.
  const c = await Engine.create({ target: TARGET_DIR, threads: 2, cacheDir: dir });
  assert.equal(probesRun(), before + 2);
  await b.dispose();
  await c.dispose();
});

test('a changed model file (new mtime) is probed again', async () => {
  const dir = cacheDir();
  const model = variantsDir(['fp32']);
  const before = probesRun();
  // The file as it is: its fused copy is keyed by content (a new mtime alone makes no new copy, fused-sources.test.ts).
  const opts = { target: model, threads: 1, cacheDir: dir, fusedOps: false };
  await (await Engine.create(opts)).dispose();
  await (await Engine.create(opts)).dispose();
  assert.equal(probesRun(), before + 1);
  const file = path.join(model, 'onnx', 'model.onnx');
  const t = new Date(Date.now() + 60_000);
  fs.utimesSync(file, t, t);
  const e = await Engine.create(opts);
  assert.equal(probesRun(), before + 2);
  assert.equal(e.info().exactness.cached, false);
  await e.dispose();
});

test('a forced call rule of one token per call is probed as not exact (the probe sees the CPU one-row path)', async () => {
  const e = await Engine.create({ target: TARGET_DIR, threads: 1, callRule: { minTokensPerCall: 1 }, cacheDir: cacheDir() });
  const v = e.info().exactness;
  await e.dispose();
  assert.equal(v.exact, false);
  assert.ok(v.rowsEqual < v.rows);
  // The first grouping (a 16-token prefill, then one-token calls) already differs: the probe stops there.
  assert.deepEqual(v.results[0].groupings, [{ grouping: '16,1,1,1,1,1,1,1,1', equal: 16, rows: 24 }]);
});

test('call-dependent (int8-like) target: not exact under any rule, drafting off, plain decoding reproducible', async () => {
  const model = inexactModelDir();
  const e = await Engine.create({ target: model, threads: 1, cacheDir: cacheDir(), drafters: [{ name: 'b', dir: DRAFTER_B_DIR }] });
  const v = e.info().exactness;
  assert.equal(v.exact, false);
  assert.equal(v.rule, undefined);
  assert.equal(v.variant, 'int8');
  assert.deepEqual(v.results.map((r) => r.rule), ['min2', 'aligned4', 'aligned8']);
  for (const r of v.results) for (const g of r.groupings) assert.equal(g.equal, 0, `${r.rule} ${g.grouping}`);
  assert.match(describeVerdict(v), /int8 on cpu, 1 thread: not exact: drafting off \(0\/24 rows equal/);

  const prompt = 'function add(a, b) {\n  return';
  const first = await e.complete(req(prompt, 'none'));
  // A request sharing a prefix would, with the prompt cache reused, change the next prompt's call grouping.
  const other = await e.complete(req(`${prompt} a + b;\n}\n\nfunction sub(a, b) {\n  return`, 'none'));
  const again = await e.complete(req(prompt, 'none'));
  const drafted = await e.complete(req(prompt, 'b'));
  const lookup = await e.complete(req(prompt, 'prompt-lookup+b'));
  await e.dispose();
  const fresh = await Engine.create({ target: model, threads: 1, cacheDir: cacheDir() });
  const cold = await fresh.complete(req(prompt, 'none'));
  await fresh.dispose();
  assert.ok(first.text.length > 0 && other.text !== first.text);
  assert.deepEqual(Buffer.from(again.text), Buffer.from(first.text), 'same request after a different one');
  assert.deepEqual(Buffer.from(cold.text), Buffer.from(first.text), 'same request in a fresh engine');
  assert.deepEqual(Buffer.from(drafted.text), Buffer.from(first.text));
  assert.deepEqual(Buffer.from(lookup.text), Buffer.from(first.text));
  assert.equal(drafted.draftingOff, true);
  assert.equal(drafted.drafted, 0);
  assert.equal(drafted.drafterCalls, 0);
  assert.equal(first.draftingOff, undefined, 'asking for no drafter is not reported as drafting turned off');
});

test('model folders: the only ONNX file is used; several → the device\'s preferred exact one, with a note', async () => {
  const only = variantsDir(['q4']);
  const a = await Engine.create({ target: only, threads: 1, cacheDir: cacheDir() });
  assert.equal(a.info().device.variant, 'q4');
  assert.equal(a.info().device.variantNote, undefined);
  assert.equal(a.info().exactness.variant, 'q4');
  await a.dispose();

  const several = variantsDir(['fp32', 'int8', 'q4f16']);
  const b = await Engine.create({ target: several, threads: 1, cacheDir: cacheDir() });
  assert.equal(b.info().device.variant, 'fp32');
  assert.equal(b.info().device.variantNote, `${several} has variants fp32, int8, q4f16; using fp32 on cpu (choose one with --variant or lockstep.targetVariant)`);
  await b.dispose();

  const asked = await Engine.create({ target: several, variant: 'q4f16', threads: 1, cacheDir: cacheDir() });
  assert.equal(asked.info().device.variant, 'q4f16');
  await asked.dispose();
  await assert.rejects(
    Engine.create({ target: several, variant: 'q4', threads: 1, cacheDir: cacheDir() }),
    /no ONNX file for variant "q4" in .* \(expected onnx\/model_q4\.onnx\); this directory has: fp32 \(onnx\/model\.onnx\), int8 \(onnx\/model_int8\.onnx\), q4f16 \(onnx\/model_q4f16\.onnx\)/,
  );
});

test('a device whose catalog variant is not downloaded fails with the download command, not another variant', async () => {
  await assert.rejects(
    Engine.create({
      target: TARGET_DIR, threads: 1, cacheDir: cacheDir(),
      missingVariants: { cpu: "variant q4 of model 'm' (the one exact on cpu) is not downloaded — run `lockstep download m --variant q4`" },
    }),
    /variant q4 of model 'm' .* run `lockstep download m --variant q4`/,
  );
});
