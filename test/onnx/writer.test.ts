/**
 * src/onnx, the writer of the stand-in's multi-gigabyte files and of the engine's helper graphs: float16 rounding,
 * 4-bit and int8 packing, negative attribute values, external data that onnxruntime reads, and the 2 GB refusal.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { halfBits, halfValue } from '../../src/onnx/float16';
import { ModelSpec, lazyOf, writeModel } from '../../src/onnx/onnxModel';
import { ProtoMessage } from '../../src/onnx/protoWriter';
import { dequantizeQ4, quantizeInt8, quantizeQ4 } from '../../src/onnx/quantize';

const f32bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];

test('float16: round to nearest even, subnormals, overflow to infinity, NaN', () => {
  const cases: [number, number][] = [
    [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65520, 0x7c00], [1e9, 0x7c00], [2 ** -24, 0x0001], [2 ** -25, 0x0000],
    [3 * 2 ** -25, 0x0002], [-0, 0x8000], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -14, 0x0400],
    [Infinity, 0x7c00],
  ];
  for (const [x, h] of cases) assert.equal(halfBits(f32bits(x)), h, `${x}`);
  assert.ok(Number.isNaN(halfValue(halfBits(f32bits(NaN)))));
  // Every result is the nearest float16 (no value between the input and the neighbour on the other side).
  for (let i = 0; i < 2000; i++) {
    const x = Math.fround((Math.sin(i * 12.9898) * 43758.5453) % 300) * 2 ** ((i % 30) - 20);
    if (Math.abs(x) >= 65504) continue;
    const h = halfBits(f32bits(x));
    const err = Math.abs(halfValue(h) - x);
    for (const other of [h - 1, h + 1]) if ((other & 0x7fff) < 0x7c00) assert.ok(err <= Math.abs(halfValue(other) - x), `${x}`);
  }
});

test('4-bit blocks: each value within half a step of its block\'s scale; the two layouts agree', () => {
  const k = 64, n = 3;
  const w = Float32Array.from({ length: k * n }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 5)));
  const q = quantizeQ4(w, k, n, 32);
  assert.equal(q.packed.length, (k * n) / 2);
  const back = dequantizeQ4(q, k, n, 32);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const step = Math.abs(q.scales[c * 2 + Math.floor(r / 32)]);
      assert.ok(Math.abs(back[r * n + c] - w[r * n + c]) <= step / 2 + 1e-6);
    }
  }
  const rows = new Float32Array(k * n);
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) rows[c * k + r] = w[r * n + c];
  assert.deepEqual(quantizeQ4(rows, k, n, 32, true), q);
  assert.throws(() => quantizeQ4(w, 48, 4, 32), /not a multiple of the block size 32/);
  const i8 = quantizeInt8(Float32Array.of(0.5, -1.27, 0.01));
  assert.deepEqual([...i8.values], [50, -127, 1]);
});

test('negative int64 attribute values are ten-byte two\'s-complement varints', () => {
  assert.deepEqual([...new ProtoMessage().varint(3, -1).encode()], [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
});

function addModel(bias: Float32Array): ModelSpec {
  return {
    graphName: 'g', producer: 'test', opsets: [{ domain: '', version: 17 }],
    inputs: [{ name: 'x', type: 'float32', dims: ['n', bias.length] }],
    outputs: [{ name: 'y', type: 'float32', dims: ['n', bias.length] }],
    nodes: [
      { op: 'Add', inputs: ['x', 'b'], outputs: ['s'], name: 'add' },
      { op: 'Softmax', inputs: ['s'], outputs: ['y'], name: 'softmax', attrs: { axis: -1 } },
    ],
    initializers: [{ name: 'b', type: 'float32', dims: [bias.length], data: lazyOf(new Uint8Array(bias.buffer)) }],
  };
}

test('external data: tensors in the side file, named relative to the model, read by onnxruntime', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-onnx-'));
  try {
    const bias = Float32Array.from({ length: 512 }, (_, i) => i / 100);
    const file = path.join(dir, 'model.onnx');
    const written = writeModel(file, addModel(bias), { externalData: 'model.onnx_data' });
    assert.equal(written.data, 2048);
    assert.ok(fs.readFileSync(path.join(dir, 'model.onnx_data')).equals(Buffer.from(bias.buffer)));
    assert.ok(fs.statSync(file).size < 1024);
    const s = await ort.InferenceSession.create(file);
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(512), [1, 512]) });
    const y = out.y.data as Float32Array;
    assert.ok(Math.abs(y[511] / y[0] - Math.exp(5.11)) < 1e-2, 'the bias came from the side file');
    await s.release();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a model over protobuf\'s 2 GB limit is refused inline (nothing made or written), written with external data', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-onnx-'));
  try {
    const huge = 2 ** 29;
    const spec = addModel(new Float32Array(1));
    spec.initializers = [{ name: 'b', type: 'float32', dims: [huge], data: { length: 4 * huge, make: () => assert.fail('made') } }];
    assert.throws(() => writeModel(path.join(dir, 'm.onnx'), spec), /over protobuf's 2 GB limit: write it with external data/);
    assert.equal(fs.existsSync(path.join(dir, 'm.onnx')), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
