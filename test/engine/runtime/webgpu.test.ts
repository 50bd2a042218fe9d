/**
 * The GPU path, on the WebGPU provider: device-resident KV cache (cut on the device), aligned padded calls, and drafter
 * invariance. Without a GPU these run on Mesa's software Vulkan driver (lavapipe), which `bash .ci/run` installs from
 * bookworm-backports into a cache folder (test/webgpu/setup.sh) and announces with LOCKSTEP_WEBGPU=1; then every test
 * here must pass. Without LOCKSTEP_WEBGPU they are skipped, saying how to run them. Speeds on lavapipe mean nothing.
 *
 * Also here, on the CPU so they always run: the on-device slicer graph, the aligned-call scheme, and the fallback
 * from a WebGPU provider that cannot start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CompletionRequest, Engine } from '../../../src/engine/process/engine';
import { KvSlicer } from '../../../src/engine/runtime/kvSlicer';
import { CausalLM, LoadOptions } from '../../../src/engine/runtime/model';
import { heldOutPrompts } from '../../helpers/prompts';
import { DRAFTER_A_DIR, DRAFTER_B_DIR, TARGET_DIR, assertGroupingsExact, rowsByGrouping, rowsEqualBitwise, seededIds } from '../../helpers/models';

const WEBGPU = process.env.LOCKSTEP_WEBGPU === '1';
const SKIP = WEBGPU ? false : 'WebGPU not set up: run `bash test/webgpu/setup.sh` and source the env file it prints (CI does)';

const GROUPINGS = [[1], [2], [3], [1, 4, 2, 7], [5, 1, 1, 9], [16, 1]];

async function assertGroupingExact(opts: LoadOptions): Promise<void> {
  const m = await CausalLM.load(TARGET_DIR, { threads: 1, ...opts });
  const ids = seededIds(48, m.config.vocabSize, 11);
  const reference = await rowsByGrouping(m, ids, [48]);
  await assertGroupingsExact(m, ids, reference, GROUPINGS, `${opts.device ?? 'cpu'}, `);
  // a rejected draft rolled back (on the device when the cache lives there), then other tokens fed
  m.reset();
  await m.forward(ids.slice(0, 13));
  await m.forward([ids[13], 1, 2, 3, 4, 5]);
  await m.truncate(14);
  const out = await m.forward(ids.slice(14, 21));
  for (let i = 0; i < 7; i++) assert.ok(rowsEqualBitwise(out.row(i), reference[14 + i]), `after rollback, row ${14 + i}`);
  assert.equal(m.length, 21);
  await m.dispose();
}

test('KV slicer graph: Slice along time on the provider gives the first `keep` steps of every layer', async () => {
  const shape = { numLayers: 2, numKeyValueHeads: 2, headDim: 3, type: 'float32' as const };
  const slicer = await KvSlicer.create(shape, ['cpu'], 'cpu');
  const total = 5;
  const tensor = (base: number): ort.Tensor =>
    new ort.Tensor('float32', Float32Array.from({ length: 2 * total * 3 }, (_, i) => base + i), [1, 2, total, 3]);
  const kv = [0, 1].map((l) => ({ key: tensor(100 * l), value: tensor(100 * l + 50) }));
  const cut = await slicer.cut(kv, 2);
  for (let l = 0; l < 2; l++) {
    for (const [got, base] of [[cut[l].key, 100 * l], [cut[l].value, 100 * l + 50]] as const) {
      assert.deepEqual(got.dims, [1, 2, 2, 3]);
      // head 0 keeps steps 0–1 (values base+0…5), head 1 keeps its steps 0–1 (base+15…20)
      assert.deepEqual(Array.from(got.data as Float32Array), [0, 1, 2, 3, 4, 5, 15, 16, 17, 18, 19, 20].map((x) => x + base));
    }
  }
  await slicer.dispose();
  // fp16 caches (q4f16 / fp16 variants): the same cut on the raw half-precision bits
  const half = await KvSlicer.create({ ...shape, numLayers: 1, type: 'float16' }, ['cpu'], 'cpu');
  const bits = Uint16Array.from({ length: 2 * total * 3 }, (_, i) => 0x3c00 + i);
  const t16 = new ort.Tensor('float16', bits, [1, 2, total, 3]);
  const [cut16] = await half.cut([{ key: t16, value: t16 }], 4);
  assert.deepEqual(cut16.value.dims, [1, 2, 4, 3]);
  const expect = [...bits.subarray(0, 12), ...bits.subarray(15, 27)];
  assert.deepEqual(Array.from(cut16.value.data as Uint16Array), expect);
  await half.dispose();
});

test('aligned calls (start at a multiple of 4, re-feed cached tokens, pad to a multiple of 4) stay bitwise exact on the CPU', async () => {
  await assertGroupingExact({ align: 4, tokenMultiple: 4, minTokensPerCall: 4 });
});

test('a WebGPU provider that cannot start falls back to the CPU with a note saying why', { skip: process.platform !== 'linux' }, () => {
  // No Vulkan driver at all: the provider's adapter request fails and the engine must go on on the CPU.
  const script = `
    const { Engine } = require(${JSON.stringify(path.join(__dirname, '..', '..', '..', 'src', 'engine', 'process', 'engine.js'))});
    Engine.create({ target: ${JSON.stringify(TARGET_DIR)}, device: 'webgpu', threads: 1 })
      .then(async (e) => { process.stdout.write(JSON.stringify(e.info().device)); await e.dispose(); })
      .catch((err) => { process.stdout.write('ERROR ' + err.message); process.exitCode = 1; });`;
  const env = { ...process.env, VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' };
  const r = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `child failed: ${r.stdout} ${r.stderr}`);
  const outcome = JSON.parse(r.stdout) as { requested: string; used: string; fellBack: boolean; notes: string[] };
  assert.equal(outcome.requested, 'webgpu');
  assert.equal(outcome.used, 'cpu');
  assert.equal(outcome.fellBack, true);
  assert.ok(outcome.notes.some((n) => n.startsWith('webgpu: ')), outcome.notes.join(' | '));
});

test('WebGPU: logits are bitwise identical however tokens are grouped into calls; rollback on the device', { skip: SKIP }, async () => {
  await assertGroupingExact({ device: 'webgpu' });
});

test('WebGPU: the target keeps its KV cache on the device', { skip: SKIP }, async () => {
  const m = await CausalLM.load(TARGET_DIR, { device: 'webgpu' });
  await m.forward([5, 6, 7]);
  const kv = (m as unknown as { kv: { key: ort.Tensor }[] }).kv;
  assert.equal(kv[0].key.location, 'gpu-buffer');
  await m.dispose();
});

// Each case is two completions at ~0.1 s per call on lavapipe: 16 cases keep CI's share near a minute and a half.
const CASES = 16;

test(`WebGPU: completions are byte-identical to the no-drafter completion (${CASES} cases)`, { skip: SKIP }, async () => {
  const drafters = [
    { name: 'drafter-a', dir: DRAFTER_A_DIR },
    { name: 'drafter-b', dir: DRAFTER_B_DIR },
  ];
  const engine = await Engine.create({ target: TARGET_DIR, device: 'webgpu', drafters });
  assert.equal(engine.info().device.used, 'webgpu', JSON.stringify(engine.info().device));
  const names = ['prompt-lookup', 'drafter-a', 'drafter-b', 'prompt-lookup+drafter-b'];
  const gammas: Array<number | 'auto'> = [1, 3, 6, 'auto'];
  const temperatures = [0, 0.7, 1];
  const prompts = heldOutPrompts(CASES, 7);
  const mismatches: string[] = [];
  let accepted = 0;
  for (let c = 0; c < CASES; c++) {
    const base: CompletionRequest = {
      before: prompts[c].before, after: prompts[c].after, drafter: 'none', coupling: (c + Math.floor(c / 4)) % 2 === 0 ? 'gumbel' : 'wmh',
      seed: 1000 + c, sampling: { temperature: temperatures[c % 3], topK: 0, topP: 1 }, gamma: 1, maxTokens: 16, mode: 'free',
    };
    const ref = await engine.complete(base);
    const req = { ...base, drafter: names[c % 4], gamma: gammas[Math.floor(c / 4) % 4] };
    const got = await engine.complete(req);
    accepted += got.accepted;
    if (Buffer.compare(Buffer.from(got.text), Buffer.from(ref.text)) !== 0) {
      mismatches.push(`case ${c} (${req.drafter}, γ=${req.gamma}, T=${base.sampling.temperature}): ${JSON.stringify(ref.text)} vs ${JSON.stringify(got.text)}`);
    }
  }
  await engine.dispose();
  assert.deepEqual(mismatches, []);
  assert.ok(accepted > 0, 'no draft was ever accepted: the comparison would not exercise verification');
});
