/**
 * Does a preallocated output avoid onnxruntime-node's copy of the present K/V? Runs the target's decode calls with
 * `session.run(feeds, fetches)` where the presents are tensors over reused buffers, and without; reports whether the
 * returned tensor shares the given buffer, and the per-call time of both, interleaved (median of 6 blocks of 60).
 *   npx tsc -p . && node out/bench/output-copy.js [--past 400]
 */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModelConfig } from '../src/engine/runtime/modelDir';

const dir = path.join(__dirname, '..', '..', 'models', 'lockstep-target');
const i = process.argv.indexOf('--past');
const PAST = i >= 0 ? Number(process.argv[i + 1]) : 400;

async function main(): Promise<void> {
  const c = readModelConfig(dir);
  const s = await ort.InferenceSession.create(path.join(dir, 'onnx', 'model.onnx'), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const kvSize = (t: number) => c.numKeyValueHeads * t * c.headDim;
  const past = Array.from({ length: 2 * c.numLayers }, () => new Float32Array(kvSize(PAST)).map((_, k) => Math.sin(k) / 4));
  const feeds = (): Record<string, ort.Tensor> => {
    const f: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.of(5n, 6n), [1, 2]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(PAST + 2).fill(1n), [1, PAST + 2]),
      position_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(PAST), BigInt(PAST + 1)), [1, 2]),
    };
    past.forEach((d, k) => (f[`past_key_values.${k >> 1}.${k & 1 ? 'value' : 'key'}`] = new ort.Tensor('float32', d, [1, c.numKeyValueHeads, PAST, c.headDim])));
    return f;
  };
  const bufs = past.map(() => new Float32Array(kvSize(PAST + 2)));
  const fetches = (): Record<string, ort.Tensor | null> => {
    const f: Record<string, ort.Tensor | null> = { logits: null };
    bufs.forEach((b, k) => (f[`present.${k >> 1}.${k & 1 ? 'value' : 'key'}`] = new ort.Tensor('float32', b, [1, c.numKeyValueHeads, PAST + 2, c.headDim])));
    return f;
  };
  const out = await s.run(feeds(), fetches());
  const shared = (out['present.0.key'].data as Float32Array).buffer === bufs[0].buffer;
  const got = out['present.0.key'].data as Float32Array;
  const written = got.some((v) => v !== 0) && got.every((v, k) => Object.is(v, bufs[0][k]));
  const times: Record<'preallocated' | 'allocated', number[]> = { preallocated: [], allocated: [] };
  for (let rep = 0; rep < 6; rep++) {
    for (const kind of (rep % 2 ? ['preallocated', 'allocated'] : ['allocated', 'preallocated']) as (keyof typeof times)[]) {
      const t0 = performance.now();
      for (let k = 0; k < 60; k++) await (kind === 'preallocated' ? s.run(feeds(), fetches()) : s.run(feeds()));
      times[kind].push((performance.now() - t0) / 60);
    }
  }
  const med = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1];
  process.stdout.write(`preallocated present written in place: ${written}; returned tensor shares the buffer: ${shared}\n` +
    `ms per call at past ${PAST}: preallocated ${med(times.preallocated).toFixed(3)}, allocated ${med(times.allocated).toFixed(3)}\n`);
  await s.release();
}

void main();
