/**
 * `lockstep bench ipc`: what running the engine in its own process costs per request (docs/extension.md's engine-process
 * figures): the same held-out completions through EngineClient (child process, JSON over IPC) and through the
 * in-process Engine, interleaved, one intra-op thread each.
 *   - IPC: the client's time from sending a request to its result, minus the engine process's time from its arrival
 *     to its result (serialising, the pipe, parsing both ways).
 *   - engine process vs in-process: the child's time for the request minus the in-process engine's wall time for the
 *     same request (the checkpoints' event-loop yields between model calls, and noise).
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { EngineClient } from '../../src/engine/process/client';
import { Engine, type CompletionRequest, type EngineOptions } from '../../src/engine/process/engine';
import { fixturePrompts } from '../../src/cli/prompts';
import { packageRoot } from '../../src/models/catalog';
import type { MeasureCommand } from '../common';

const options = {
  prompts: A.single(A.positiveInt, 'N', 'requests (fixture prompts; default 40)'),
  'max-tokens': A.single(A.maxTokens, 'N', 'tokens per completion (default 24)'),
  drafter: A.single(A.str, 'DRAFTER', 'none | prompt-lookup | lockstep-drafter-b (default none)'),
};

/** The floor(q·n)-th smallest sample (this command's published figures use this rule, not bench/common's quantile). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export const ipcCost: MeasureCommand<typeof options> = {
  usage: '[--prompts N] [--max-tokens N] [--drafter none]',
  about: 'What the engine\'s own process costs per request: the same completions through the engine process (IPC) and\n' +
    'the in-process engine, interleaved; p50/p95 of the engine process\'s time, of the IPC round trip and of the difference.',
  options,
  async run(o, positionals, io) {
    if (positionals.length > 0) throw new A.UsageError(`bench ipc takes no arguments (got '${positionals[0]}')`);
    const n = o.prompts ?? 40;
    const maxTokens = o['max-tokens'] ?? 24;
    const drafter = o.drafter ?? 'none';
    const models = path.join(packageRoot(), 'models');
    const engineOptions: EngineOptions = {
      target: path.join(models, 'lockstep-target'), threads: 1,
      drafters: [{ name: 'lockstep-drafter-b', dir: path.join(models, 'lockstep-drafter-b') }],
    };
    const local = await Engine.create(engineOptions);
    const client = new EngineClient(engineOptions);
    const ipc: number[] = [];
    const checkpoints: number[] = [];
    const totals: number[] = [];
    try {
      await client.ready();
      for (const [i, p] of fixturePrompts(n, 7).entries()) {
        const req: CompletionRequest = {
          before: p.before, after: p.after, drafter, coupling: 'gumbel', seed: i, sampling: { temperature: 0.2, topK: 0, topP: 1 },
          gamma: 'auto', maxTokens, mode: 'free',
        };
        // Held-out prompts share no prefix, so the child's cache reuse gains nothing; the local one starts empty too.
        local.resetCaches();
        const t0 = performance.now();
        const here = await local.complete(req);
        const localMs = performance.now() - t0;
        const there = await client.complete(req).result;
        if (there.text !== here.text) throw new Error(`prompt ${i}: the engine process gave other text`);
        ipc.push(client.stats.lastClientMs - client.stats.lastEngineMs);
        checkpoints.push(client.stats.lastEngineMs - localMs);
        totals.push(client.stats.lastEngineMs);
      }
    } finally {
      await client.dispose();
      await local.dispose();
    }
    const row = (name: string, xs: number[]): string =>
      `${name.padEnd(44)} ${quantile(xs, 0.5).toFixed(2).padStart(8)} ${quantile(xs, 0.95).toFixed(2).padStart(8)}\n`;
    io.stdout(`${n} requests, ${maxTokens} tokens, drafter ${drafter}, 1 thread; milliseconds per request\n`);
    io.stdout(`${''.padEnd(44)} ${'p50'.padStart(8)} ${'p95'.padStart(8)}\n`);
    io.stdout(row('engine process: arrival → result', totals));
    io.stdout(row('IPC: client round trip − engine process time', ipc));
    io.stdout(row('engine process − in-process engine', checkpoints));
  },
};
