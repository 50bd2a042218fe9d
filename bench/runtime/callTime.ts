/**
 * `lockstep bench call-time`: one-token call time of each shipped model (the model table of docs/models.md): a call feeding
 * one new token at past length 200, median of 60, one intra-op thread. The target's call is padded to two tokens as
 * the engine always does (exactness rule, src/engine/runtime/model.ts); drafters take the unpadded one-token path.
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { CausalLM } from '../../src/engine/runtime/model';
import { packageRoot } from '../../src/models/catalog';
import type { MeasureCommand } from '../common';

const options = {
  past: A.single(A.positiveInt, 'N', 'tokens in the cache before each timed call (default 200)'),
  repeats: A.single(A.positiveInt, 'N', 'timed calls per model; the median is printed (default 60)'),
};

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

export const callTime: MeasureCommand<typeof options> = {
  usage: '[--past N] [--repeats N]',
  about: 'One-token call time of each shipped model at --past tokens (median of --repeats, one thread): the target\n' +
    'padded to two tokens as the engine runs it, and unpadded for comparison; the drafters unpadded.',
  options,
  async run(o, positionals, io) {
    if (positionals.length > 0) throw new A.UsageError(`bench call-time takes no arguments (got '${positionals[0]}')`);
    const past = o.past ?? 200;
    const repeats = o.repeats ?? 60;
    const models = path.join(packageRoot(), 'models');
    const target = await medianCallMs(path.join(models, 'lockstep-target'), 2, past, repeats);
    const rows: Array<[string, number]> = [['lockstep-target (padded to 2)', target]];
    rows.push(['lockstep-target (unpadded, for comparison)', await medianCallMs(path.join(models, 'lockstep-target'), 1, past, repeats)]);
    for (const d of ['lockstep-drafter-b', 'lockstep-drafter-a']) {
      rows.push([d, await medianCallMs(path.join(models, d), 1, past, repeats)]);
    }
    for (const [name, ms] of rows) {
      io.stdout(`${name.padEnd(44)} ${ms.toFixed(2)} ms   cost ratio vs target ${(ms / target).toFixed(3)}\n`);
    }
  },
};
