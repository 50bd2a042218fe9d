/**
 * Where a variant's RAM goes: `node out/bench/variant-memory.js MODEL_DIR VARIANT [repeats]` loads onnx/<variant> with
 * the engine's session options and with one option changed at a time (arena off, prepacking off, graph optimisation
 * off), each in a fresh process, and prints RSS after load, peak RSS and the median time of a 2-token call at past
 * length 64. Written for issue 12's finding that fp16 took 4.1 GB of RAM for a 1.26 GB file.
 */
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { readModelConfig, findOnnxFile } from '../src/engine/runtime/modelDir';
import { median, table } from './common';

const CONFIGS: Record<string, ort.InferenceSession.SessionOptions> = {
  engine: {},
  'arena off': { enableCpuMemArena: false },
  'prepacking off': { extra: { session: { disable_prepacking: '1' } } },
  'optimisation off': { graphOptimizationLevel: 'disabled' },
  'arena + prepacking off': { enableCpuMemArena: false, extra: { session: { disable_prepacking: '1' } } },
};

const MiB = 1024 * 1024;

async function one(dir: string, variant: string, name: string, repeats: number): Promise<Record<string, number>> {
  const cfg = readModelConfig(dir);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(findOnnxFile(dir, variant), {
    graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', ...CONFIGS[name],
  });
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoad = process.memoryUsage().rss / MiB;
  const half = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key' && m.isTensor && m.type === 'float16') !== undefined;
  const past = 64;
  const kv = (n: number) => (half ? new ort.Tensor('float16', new Uint16Array(cfg.numKeyValueHeads * n * cfg.headDim), [1, cfg.numKeyValueHeads, n, cfg.headDim])
    : new ort.Tensor('float32', new Float32Array(cfg.numKeyValueHeads * n * cfg.headDim), [1, cfg.numKeyValueHeads, n, cfg.headDim]));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.of(17n, 42n), [1, 2]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(past + 2).fill(1n), [1, past + 2]),
    position_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(past), BigInt(past + 1)), [1, 2]),
  };
  for (let l = 0; l < cfg.numLayers; l++) {
    feeds[`past_key_values.${l}.key`] = kv(past);
    feeds[`past_key_values.${l}.value`] = kv(past);
  }
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t);
  }
  return { loadSeconds, rssAfterLoad, rssAfterCalls: process.memoryUsage().rss / MiB, peakRss: process.resourceUsage().maxRSS / 1024, callMs: median(times) };
}

async function main(): Promise<void> {
  const [dir, variant, repeatsArg, only] = process.argv.slice(2);
  const repeats = Number(repeatsArg ?? 3);
  if (only) {
    process.stdout.write(`${JSON.stringify(await one(dir, variant, only, repeats))}\n`);
    return;
  }
  if (!dir || !variant) throw new Error('usage: node out/bench/variant-memory.js MODEL_DIR VARIANT [repeats]');
  const rows: string[][] = [];
  for (const name of Object.keys(CONFIGS)) {
    const r = spawnSync(process.execPath, [__filename, dir, variant, String(repeats), name], { encoding: 'utf8' });
    if (r.status !== 0) {
      rows.push([name, 'failed', r.stderr.trim().split('\n').pop() ?? '', '', '', '']);
      continue;
    }
    const x = JSON.parse(r.stdout) as Record<string, number>;
    rows.push([name, x.loadSeconds.toFixed(1), x.rssAfterLoad.toFixed(0), x.rssAfterCalls.toFixed(0), x.peakRss.toFixed(0), x.callMs.toFixed(0)]);
  }
  process.stdout.write(`${dir} ${variant}, 1 thread, ${repeats} calls of 2 tokens at past 64\n`);
  process.stdout.write(`${table(['session options', 'load s', 'RSS after load MiB', 'RSS after calls MiB', 'peak MiB', 'call ms'], rows)}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
