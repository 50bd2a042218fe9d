import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CausalLM } from '../../../src/engine/runtime/model';
import { ModelDirError } from '../../../src/engine/runtime/modelDir';
import { DRAFTER_A_DIR, SHIPPED, TARGET_DIR, assertGroupingsExact, rowsByGrouping, rowsEqualBitwise, seededIds } from '../../helpers/models';

interface Reference {
  input_ids: number[];
  logits_rows: number[];
  logits: number[][];
}

for (const dir of SHIPPED) {
  const name = path.basename(dir);
  test(`${name}: graph names, and logits match the torch reference within 1e-4`, async () => {
    const session = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'));
    const layers = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).num_hidden_layers as number;
    const expectIn = ['input_ids', 'attention_mask', 'position_ids'];
    const expectOut = ['logits'];
    for (let l = 0; l < layers; l++) {
      expectIn.push(`past_key_values.${l}.key`, `past_key_values.${l}.value`);
      expectOut.push(`present.${l}.key`, `present.${l}.value`);
    }
    assert.deepEqual([...session.inputNames].sort(), expectIn.sort());
    assert.deepEqual([...session.outputNames].sort(), expectOut.sort());
    await session.release();

    const ref = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
    const m = await CausalLM.load(dir, { threads: 1 });
    const out = await m.forward(ref.input_ids);
    let maxDiff = 0;
    ref.logits_rows.forEach((r, k) => {
      const row = out.row(r);
      for (let i = 0; i < row.length; i++) maxDiff = Math.max(maxDiff, Math.abs(row[i] - ref.logits[k][i]));
    });
    assert.ok(maxDiff < 1e-4, `max |onnx − torch| = ${maxDiff}`);
    await m.dispose();
  });

  test(`${name}: prefill then extend with the KV cache equals one full pass`, async () => {
    const m = await CausalLM.load(dir, { threads: 1 });
    const ids = seededIds(40, m.config.vocabSize, 7);
    const full = await rowsByGrouping(m, ids, [40]);
    const split = await rowsByGrouping(m, ids, [25, 15]);
    let maxDiff = 0;
    for (let r = 0; r < ids.length; r++) {
      for (let i = 0; i < full[r].length; i++) maxDiff = Math.max(maxDiff, Math.abs(full[r][i] - split[r][i]));
    }
    assert.ok(maxDiff < 1e-5, `max diff ${maxDiff}`);
    await m.dispose();
  });
}

test('target logits are bitwise identical however tokens are grouped into calls (exactness rule)', async () => {
  const m = await CausalLM.load(TARGET_DIR, { threads: 1 });
  const ids = seededIds(48, m.config.vocabSize, 11);
  const reference = await rowsByGrouping(m, ids, [48]);
  // one token per call (padded to two by the wrapper), pairs, odd widths, verification-like widths
  await assertGroupingsExact(m, ids, reference, [[1], [2], [3], [1, 4, 2, 7], [5, 1, 1, 9], [16, 1]]);
  await m.dispose();
});

test('target logits are bitwise identical with 1 and 2 intra-op threads', async () => {
  const m1 = await CausalLM.load(TARGET_DIR, { threads: 1 });
  const m2 = await CausalLM.load(TARGET_DIR, { threads: 2 });
  const ids = seededIds(40, m1.config.vocabSize, 3);
  const a = await rowsByGrouping(m1, ids, [1, 3, 6]);
  const b = await rowsByGrouping(m2, ids, [4, 1, 2]);
  assert.equal(a.filter((r, i) => rowsEqualBitwise(r, b[i])).length, ids.length);
  await m1.dispose();
  await m2.dispose();
});

test('KV rollback: truncating rejected positions and feeding others gives the same bits as never feeding them', async () => {
  const m = await CausalLM.load(TARGET_DIR, { threads: 1 });
  const ids = seededIds(30, m.config.vocabSize, 5);
  const reference = await rowsByGrouping(m, ids, [30]);
  m.reset();
  await m.forward(ids.slice(0, 12));
  // a rejected draft of 5 wrong tokens, rolled back
  await m.forward([ids[12], 1, 2, 3, 4, 5]);
  assert.equal(m.length, 18);
  await m.truncate(13);
  assert.equal(m.length, 13);
  const out = await m.forward(ids.slice(13, 20));
  for (let i = 0; i < 7; i++) assert.ok(rowsEqualBitwise(out.row(i), reference[13 + i]), `row ${13 + i}`);
  await assert.rejects(m.truncate(50), /cannot truncate/);
  await m.dispose();
});

test('a prefill without logits leaves the same cache bits: the rows after it equal a forward()-only run', async () => {
  const m = await CausalLM.load(TARGET_DIR, { threads: 1 });
  const ids = seededIds(40, m.config.vocabSize, 9);
  const reference = await rowsByGrouping(m, ids, [40]);
  for (const chunks of [[32], [1, 16, 15], [7, 25]]) {
    m.reset();
    let at = 0;
    for (const c of chunks) {
      await m.prefill(ids.slice(at, at + c));
      at += c;
    }
    assert.equal(m.length, 32);
    const out = await m.forward(ids.slice(32));
    for (let i = 0; i < 8; i++) assert.ok(rowsEqualBitwise(out.row(i), reference[32 + i]), `chunks ${chunks}: row ${32 + i}`);
  }
  await m.dispose();
});

test('a call beyond the context window is refused', async () => {
  const m = await CausalLM.load(DRAFTER_A_DIR, { threads: 1 });
  const ids = seededIds(m.config.maxPositions + 1, m.config.vocabSize, 1);
  await assert.rejects(m.forward(ids), /exceeds the model's \d+ positions/);
  await m.dispose();
});

function tempModelCopy(src: string): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-model-'));
  fs.cpSync(src, dst, { recursive: true });
  return dst;
}

test('bad model directories give clear errors', async () => {
  await assert.rejects(CausalLM.load('/nonexistent/model'), (e: Error) => e instanceof ModelDirError && /model directory not found: \/nonexistent\/model/.test(e.message));

  const noConfig = tempModelCopy(DRAFTER_A_DIR);
  fs.rmSync(path.join(noConfig, 'config.json'));
  await assert.rejects(CausalLM.load(noConfig), /model config not found: .*config\.json/);

  const badJson = tempModelCopy(DRAFTER_A_DIR);
  fs.writeFileSync(path.join(badJson, 'config.json'), '{"num_hidden_layers": 1,');
  await assert.rejects(CausalLM.load(badJson), /config\.json.*not valid JSON|not valid JSON/);

  const badField = tempModelCopy(DRAFTER_A_DIR);
  const cfg = JSON.parse(fs.readFileSync(path.join(badField, 'config.json'), 'utf8'));
  cfg.num_hidden_layers = 'two';
  fs.writeFileSync(path.join(badField, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(CausalLM.load(badField), /field "num_hidden_layers" must be a positive integer/);

  const noOnnx = tempModelCopy(DRAFTER_A_DIR);
  fs.renameSync(path.join(noOnnx, 'onnx', 'model.onnx'), path.join(noOnnx, 'onnx', 'model_q4.onnx'));
  // A folder whose only file is model_q4.onnx loads it; asking for fp32 there names what it has.
  const only = await CausalLM.load(noOnnx);
  assert.equal(only.variant, 'q4');
  await only.dispose();
  await assert.rejects(CausalLM.load(noOnnx, { variant: 'fp32' }), /no ONNX file for variant "fp32".*this directory has: q4 \(onnx\/model_q4\.onnx\)/);

  const corrupt = tempModelCopy(DRAFTER_A_DIR);
  fs.writeFileSync(path.join(corrupt, 'onnx', 'model.onnx'), '<!DOCTYPE html><html>404</html>');
  await assert.rejects(CausalLM.load(corrupt), /cannot load .*model\.onnx/);

  const mismatch = tempModelCopy(DRAFTER_A_DIR);
  const cfg2 = JSON.parse(fs.readFileSync(path.join(mismatch, 'config.json'), 'utf8'));
  cfg2.num_hidden_layers = 3;
  fs.writeFileSync(path.join(mismatch, 'config.json'), JSON.stringify(cfg2));
  await assert.rejects(CausalLM.load(mismatch), /past_key_values\.\*\.key inputs but config\.json says 3 layers/);

  for (const d of [noConfig, badJson, badField, noOnnx, corrupt, mismatch]) fs.rmSync(d, { recursive: true, force: true });
});
