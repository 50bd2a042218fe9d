/**
 * `lockstep bench variant-memory MODEL_DIR VARIANT [REPEATS]`: where a variant's RAM goes. Loads onnx/<variant> with
 * the engine's session options and with one option changed at a time (arena off, prepacking off, graph optimisation
 * off), each in a fresh process (variantMemoryChild.ts), and prints RSS after load, peak RSS and the median time of a
 * 2-token call at past length 64. Written for the finding that fp16 took 4.1 GB of RAM for a 1.26 GB file.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as A from '../../src/cli/args';
import { readModelConfig, findOnnxFile } from '../../src/engine/runtime/modelDir';
import { type MeasureCommand, median, table } from '../common';

const CONFIGS: Record<string, ort.InferenceSession.SessionOptions> = {
  engine: {},
  'arena off': { enableCpuMemArena: false },
  'prepacking off': { extra: { session: { disable_prepacking: '1' } } },
  'optimisation off': { graphOptimizationLevel: 'disabled' },
  'arena + prepacking off': { enableCpuMemArena: false, extra: { session: { disable_prepacking: '1' } } },
};

const MiB = 1024 * 1024;

/** What one session configuration gave (the child prints it as JSON). */
export interface MemoryRow {
  loadSeconds: number;
  rssAfterLoad: number;
  rssAfterCalls: number;
  peakRss: number;
  callMs: number;
}

/** Loads the variant with one configuration in this process and measures it (run by variantMemoryChild.ts). */
export async function measureConfig(dir: string, variant: string, name: string, repeats: number): Promise<MemoryRow> {
  if (!(name in CONFIGS)) throw new Error(`unknown session configuration '${name}'`);
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

const options = {};

export const variantMemory: MeasureCommand<typeof options> = {
  usage: 'MODEL_DIR VARIANT [REPEATS]',
  about: 'Where a variant\'s RAM goes: onnx/<VARIANT> loaded with the engine\'s session options and with one changed at a\n' +
    'time (arena, prepacking, graph optimisation off), each in a fresh process: load time, RSS after load and after\n' +
    'REPEATS (default 3) 2-token calls at past 64, peak RSS, median call time.',
  options,
  async run(_o, positionals, io) {
    const [dirArg, variant, repeatsArg, extra] = positionals;
    if (!dirArg || !variant || extra !== undefined) throw new A.UsageError(`usage: lockstep bench variant-memory ${variantMemory.usage}`);
    const repeats = repeatsArg === undefined ? 3 : A.positiveInt(repeatsArg, 'REPEATS');
    const dir = path.resolve(io.cwd, dirArg);
    findOnnxFile(dir, variant);
    // The child is bundled next to dist/bench.js, and compiled next to this file in out/bench/runtime/.
    const child = path.join(__dirname, 'variantMemoryChild.js');
    const rows: string[][] = [];
    for (const name of Object.keys(CONFIGS)) {
      const r = spawnSync(process.execPath, [child, dir, variant, String(repeats), name], { encoding: 'utf8' });
      if (r.status !== 0) {
        rows.push([name, 'failed', (r.stderr || r.error?.message || '').trim().split('\n').pop() ?? '', '', '', '']);
        continue;
      }
      const x = JSON.parse(r.stdout) as MemoryRow;
      rows.push([name, x.loadSeconds.toFixed(1), x.rssAfterLoad.toFixed(0), x.rssAfterCalls.toFixed(0), x.peakRss.toFixed(0), x.callMs.toFixed(0)]);
    }
    io.stdout(`${dirArg} ${variant}, 1 thread, ${repeats} calls of 2 tokens at past 64\n`);
    io.stdout(`${table(['session options', 'load s', 'RSS after load MiB', 'RSS after calls MiB', 'peak MiB', 'call ms'], rows)}\n`);
  },
};
