/**
 * What running the engine in its own process costs per request (the README's engine-process figures): the same
 * held-out completions through EngineClient (child process, JSON over IPC) and through the in-process Engine,
 * interleaved, one intra-op thread each.
 *   - IPC: the client's time from sending a request to its result, minus the engine process's time from its arrival
 *     to its result (serialising, the pipe, parsing both ways).
 *   - engine process vs in-process: the child's time for the request minus the in-process engine's wall time for the
 *     same request (the checkpoints' event-loop yields between model calls, and noise).
 *   npx tsc -p . && node out/bench/ipc-cost.js [--prompts 40] [--max-tokens 24] [--drafter none]
 */
import { EngineClient } from '../src/engine/process/client';
import { Engine, type CompletionRequest, type EngineOptions } from '../src/engine/process/engine';
import { fixturePrompts } from '../src/cli/prompts';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function main(): Promise<void> {
  const n = Number(option('prompts', '40'));
  const maxTokens = Number(option('max-tokens', '24'));
  const drafter = option('drafter', 'none');
  const options: EngineOptions = {
    target: path.join(ROOT, 'models', 'lockstep-target'), threads: 1,
    drafters: [{ name: 'lockstep-drafter-b', dir: path.join(ROOT, 'models', 'lockstep-drafter-b') }],
  };
  const local = await Engine.create(options);
  const client = new EngineClient(options);
  await client.ready();
  const ipc: number[] = [];
  const checkpoints: number[] = [];
  const totals: number[] = [];
  const prompts = fixturePrompts(n, 7);
  for (const [i, p] of prompts.entries()) {
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
  await client.dispose();
  await local.dispose();
  const row = (name: string, xs: number[]): string =>
    `${name.padEnd(44)} ${quantile(xs, 0.5).toFixed(2).padStart(8)} ${quantile(xs, 0.95).toFixed(2).padStart(8)}`;
  console.log(`${n} requests, ${maxTokens} tokens, drafter ${drafter}, 1 thread; milliseconds per request`);
  console.log(`${''.padEnd(44)} ${'p50'.padStart(8)} ${'p95'.padStart(8)}`);
  console.log(row('engine process: arrival → result', totals));
  console.log(row('IPC: client round trip − engine process time', ipc));
  console.log(row('engine process − in-process engine', checkpoints));
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
