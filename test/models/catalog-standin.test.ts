/**
 * The catalog's Qwen2.5-Coder entries against the stand-in, which is built like onnx-community's files (the 0.5b
 * stand-in's five variants come within 2 % of the real files' sizes): each variant lists exactly the files such a
 * model takes — a file the stand-in writes (model.onnx_data of fp32, the side file of anything over protobuf's 2 GB
 * limit) is required, a listed file it does not write is optional — and the sizes the catalog notes are the
 * stand-in's to within a few percent.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { filesFor, loadCatalog, packageRoot } from '../../src/models/catalog';
import { writeModel } from '../../src/onnx/onnxModel';
import { SizeName, shapeOf } from '../../tools/standin/config';
import { plannedLayout } from '../../tools/standin/generate';
import { VARIANTS, Variant, buildGraph } from '../../tools/standin/graph';
import { weight } from '../../tools/standin/weights';

const SIZE_OF_REPO: Record<string, SizeName> = {
  'onnx-community/Qwen2.5-Coder-0.5B-Instruct': '0.5b',
  'onnx-community/Qwen2.5-Coder-1.5B': '1.5b',
  'onnx-community/Qwen2.5-Coder-3B-Instruct': '3b',
};

const catalog = () => loadCatalog(path.join(packageRoot(), 'models.json'));

test('every Qwen variant in models.json lists the files the stand-in writes for it, required, and others optional', () => {
  const qwen = catalog().models.filter((m) => m.family === 'qwen2.5-coder');
  assert.deepEqual(qwen.map((m) => SIZE_OF_REPO[m.repo ?? ''] !== undefined), qwen.map(() => true), 'a Qwen entry with no stand-in size');
  for (const m of qwen) {
    const shape = shapeOf(SIZE_OF_REPO[m.repo!]);
    const common = filesFor(m);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      assert.equal(common.find((x) => x.path === f)?.optional, false, `${m.id}: ${f} must be required`);
    }
    for (const variant of Object.keys(m.variants ?? {})) {
      assert.ok(VARIANTS.includes(variant as Variant), `${m.id}: variant ${variant} has no stand-in`);
      const planned = plannedLayout(shape, variant as Variant);
      const listed = filesFor(m, variant).filter((f) => f.path.startsWith('onnx/'));
      for (const p of planned.files) {
        assert.equal(listed.find((f) => f.path === p)?.optional, false, `${m.id} ${variant}: ${p} must be listed as required`);
      }
      for (const f of listed.filter((x) => !planned.files.includes(x.path))) {
        assert.ok(f.optional, `${m.id} ${variant}: ${f.path} is not in the export's layout, so it must be optional`);
      }
      const approx = m.variants![variant].approxBytes;
      if (approx !== undefined) {
        const ratio = planned.bytes / approx;
        assert.ok(ratio > 0.95 && ratio < 1.05, `${m.id} ${variant}: catalog ${approx} bytes, stand-in ${planned.bytes}`);
      }
    }
  }
});

test('the fp32 pair of the 0.5B entry is model.onnx + model.onnx_data, both required, downloaded together', () => {
  const m = catalog().models.find((x) => x.id === 'qwen2.5-coder-0.5b-instruct')!;
  assert.deepEqual(filesFor(m, 'fp32').filter((f) => f.path.startsWith('onnx/')).map((f) => [f.path, f.optional]),
    [['onnx/model.onnx', false], ['onnx/model.onnx_data', false]]);
  assert.deepEqual(plannedLayout(shapeOf('0.5b'), 'fp32').files, ['onnx/model.onnx', 'onnx/model.onnx_data']);
  assert.deepEqual(plannedLayout(shapeOf('0.5b'), 'fp16').files, ['onnx/model_fp16.onnx'], '1.26 GB fits in one file');
  assert.deepEqual(plannedLayout(shapeOf('1.5b'), 'fp16').files, ['onnx/model_fp16.onnx', 'onnx/model_fp16.onnx_data']);
});

test('a head that reads the stored embedding (1.5B\'s layout) gives the logits of a head stored as a copy', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-head-'));
  try {
    for (const variant of ['fp32', 'int8'] as Variant[]) {
      const logits: Float32Array[] = [];
      for (const headCopy of [true, false]) {
        const shape = { ...shapeOf('ci'), headCopy };
        const file = path.join(dir, `${variant}-${headCopy}.onnx`);
        writeModel(file, buildGraph(shape, { variant, layers: 1 }, (n) => weight(shape, 0, n)));
        const s = await ort.InferenceSession.create(file);
        const empty = new ort.Tensor('float32', new Float32Array(0), [1, shape.kvHeads, 0, shape.headDim]);
        const out = await s.run({
          input_ids: new ort.Tensor('int64', BigInt64Array.of(5n, 77n), [1, 2]),
          attention_mask: new ort.Tensor('int64', BigInt64Array.of(1n, 1n), [1, 2]),
          position_ids: new ort.Tensor('int64', BigInt64Array.of(0n, 1n), [1, 2]),
          'past_key_values.0.key': empty,
          'past_key_values.0.value': empty,
        });
        logits.push(out.logits.data as Float32Array);
        await s.release();
      }
      let diff = 0;
      logits[0].forEach((x, i) => (diff = Math.max(diff, Math.abs(x - logits[1][i]))));
      // int8's copy goes through MatMulInteger (activations quantized per call); the shared table is multiplied in float.
      const tolerance = variant === 'int8' ? 0.3 : 1e-5;
      assert.ok(diff < tolerance, `${variant}: max difference ${diff}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
