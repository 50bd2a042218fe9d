/**
 * `lockstep bench peer` and `lockstep bench breakdown`: benchmarks with their own commands (not part of `bench all`:
 * peer needs node-llama-cpp, a devDependency). Same conventions as bench/cli.ts: a table or --json, the JSON result
 * in --out, the figure in --media, --quick for the smoke run CI does.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { UsageError } from '../../src/cli/args';
import type { CliIo } from '../../src/cli/io';
import { BreakdownReport, formatBreakdown, runBreakdown } from '../speed/breakdown';
import { progress, writeJson } from '../common';
import { breakdownDefs, callcostDefs, peerDefs } from '../options';
import { CallCostReport, formatCallCost, runCallCost } from '../speed/callCost';
import { PeerReport, runPeer } from './peer';
import { formatPeer, peerFigure } from './format';
import { VegaLiteSpec, writeFigure } from '../report/plot';

type Opts = Record<string, unknown>;

const HEADS = {
  peer: 'lockstep bench peer [options] — Lockstep against llama.cpp (node-llama-cpp) on the same weights: the models are\n' +
    'converted to GGUF by the project\'s own writer and must give Lockstep\'s greedy ids before anything is timed; then\n' +
    'both decode the same prompts, interleaved, at 1 thread and the machine\'s threads: tokens/s, prefill, same-run ratios,\n' +
    'llama.cpp\'s predictors at their defaults and best swept settings, and invariance at T = 0.7 for both systems.',
  breakdown: 'lockstep bench breakdown [options] — where a target call\'s time goes: onnxruntime\'s profiler (kernels by\n' +
    'operator, its own overhead), JS time around run(), feed tensors, KV cut, output handling, padding, sampling.',
  callcost: 'lockstep bench callcost [options] — the cost of a call of k tokens against one, T(k)/T(1) for k = 1…16, for\n' +
    'Lockstep\'s default path on --target and for llama.cpp on the same weights (Q4_0 or F32), every row\'s logits\n' +
    'computed; and the speed-up speculative decoding can give with a free drafter at acceptance 0.5–0.9.',
};

export type PeerSub = 'peer' | 'breakdown' | 'callcost';
const DEFS = { peer: peerDefs, breakdown: breakdownDefs, callcost: callcostDefs };

export function peerHelp(sub: PeerSub): string {
  return `${HEADS[sub]}\n\nOptions:\n${A.describeOptions(DEFS[sub])}`;
}

function dirs(o: Opts, io: CliIo): { out: string; media: string | null } {
  const out = path.resolve(io.cwd, (o.out as string | undefined) ?? (o.quick ? path.join('.bench-results', 'quick') : '.bench-results'));
  const media = o['no-figures'] ? null : path.resolve(io.cwd, (o.media as string | undefined) ?? (o.quick ? path.join(out, 'figures') : 'media'));
  return { out, media };
}

async function publish(io: CliIo, o: Opts, name: string, report: { rows: unknown[] }, text: string, figs: [string, VegaLiteSpec][]): Promise<void> {
  const { out, media } = dirs(o, io);
  const files: string[] = [];
  if (media) {
    try {
      for (const [n, spec] of figs) files.push(...(await writeFigure(media, n, spec, o.png === true)));
    } catch (e) {
      io.stderr(`lockstep: figures not drawn: ${(e as Error).message}\n`);
    }
  }
  const shown = files.map((f) => path.relative(io.cwd, f) || f);
  const json = writeJson(out, name, { ...report, figures: shown });
  const rel = path.relative(io.cwd, json);
  if (o.json) io.stdout(`${JSON.stringify({ ...report, json: rel, figures: shown })}\n`);
  else io.stdout(`${text}results: ${rel}${shown.length > 0 ? `\nfigures: ${shown.join(', ')}` : ''}\n`);
}

export async function peerCommand(sub: PeerSub, argv: string[], io: CliIo): Promise<number> {
  const { options, positionals } = A.parseArgs(argv, DEFS[sub]);
  const o = options as Opts;
  if (o.help) {
    io.stdout(`${peerHelp(sub)}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench ${sub} takes no arguments (got '${positionals[0]}')`);
  const quick = o.quick === true;
  const onProgress = o.quiet ? undefined : progress(io, sub);
  const common = {
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, fim: o.fim as string | undefined,
    argv: ['bench', sub, ...argv], onProgress, 'no-fused': o['no-fused'] as boolean | undefined,
  };
  if (sub === 'peer') {
    const threads = o.threads as number[] | undefined;
    const r: PeerReport = await runPeer({
      ...common, quick, drafterA: o['drafter-a'] as string | undefined, drafterB: o['drafter-b'] as string | undefined,
      prompts: o.prompts as number | undefined, maxTokens: o['max-tokens'] as number | undefined,
      validatePrompts: o['validate-prompts'] as number | undefined, sweepPrompts: o['sweep-prompts'] as number | undefined,
      invarianceCases: o.cases as number | undefined,
      threadList: threads && threads.length > 0 ? threads.map((t) => (t === 0 ? os.cpus().length : t)) : undefined,
      ggufDir: path.resolve(io.cwd, (o['gguf-dir'] as string | undefined) ?? path.join(dirs(o, io).out, 'gguf')),
    }, io.cwd);
    await publish(io, o, 'peer', r, formatPeer(r), [['peer', peerFigure(r, (o.note as string | undefined) ?? '')]]);
    return 0;
  }
  if (sub === 'callcost') {
    const threads = o.threads as number[];
    const r: CallCostReport = await runCallCost({
      ...common, threadList: threads.length > 0 ? [...new Set(threads.map((t) => (t === 0 ? os.cpus().length : t)))] : [1],
      past: o.past as number | undefined, maxK: (o['max-k'] as number | undefined) ?? (quick ? 4 : undefined),
      repeats: (o.repeats as number | undefined) ?? (quick ? 1 : undefined),
      ggufDir: path.resolve(io.cwd, (o['gguf-dir'] as string | undefined) ?? path.join(dirs(o, io).out, 'gguf')),
    }, io.cwd);
    await publish(io, o, 'callcost', r, formatCallCost(r), []);
    return 0;
  }
  const r: BreakdownReport = await runBreakdown({
    ...common, quick, threads: o.threads as number | undefined, prompts: o.prompts as number | undefined,
    maxTokens: o['max-tokens'] as number | undefined,
    // onnxruntime's raw profile (megabytes): kept for inspection, never next to published results.
    profileDir: path.resolve(io.cwd, '.bench-results', 'ort-profile'),
  }, io.cwd);
  await publish(io, o, 'breakdown', r, formatBreakdown(r), []);
  return 0;
}
