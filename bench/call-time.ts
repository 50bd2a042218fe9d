/**
 * One-token call time of each shipped model (the README's model table): a call feeding one new token at past
 * length 200, median of 60, one intra-op thread. The target's call is padded to two tokens as the engine always
 * does (exactness rule, src/engine/runtime/model.ts); drafters take the unpadded one-token path.
 *   npx tsc -p . && node out/bench/call-time.js [--past 200] [--repeats 60]
 */
import * as path from 'node:path';
import { CausalLM } from '../src/engine/runtime/model';

const ROOT = path.join(__dirname, '..', '..');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function medianCallMs(dir: string, minTokensPerCall: number, past: number, repeats: number): Promise<number> {
  const m = await CausalLM.load(dir, { threads: 1, minTokensPerCall });
  const ids = Array.from({ length: past }, (_, i) => (i * 37) % (m.config.vocabSize - 8));
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    m.reset();
    await m.forward(ids);
    const t = performance.now();
    await m.forward([5]);
    samples.push(performance.now() - t);
  }
  await m.dispose();
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

async function main(): Promise<void> {
  const past = option('past', 200);
  const repeats = option('repeats', 60);
  const target = await medianCallMs(path.join(ROOT, 'models', 'lockstep-target'), 2, past, repeats);
  const rows: Array<[string, number]> = [['lockstep-target (padded to 2)', target]];
  rows.push(['lockstep-target (unpadded, for comparison)', await medianCallMs(path.join(ROOT, 'models', 'lockstep-target'), 1, past, repeats)]);
  for (const d of ['lockstep-drafter-b', 'lockstep-drafter-a']) {
    rows.push([d, await medianCallMs(path.join(ROOT, 'models', d), 1, past, repeats)]);
  }
  for (const [name, ms] of rows) {
    process.stdout.write(`${name.padEnd(44)} ${ms.toFixed(2)} ms   cost ratio vs target ${(ms / target).toFixed(3)}\n`);
  }
}

void main();
