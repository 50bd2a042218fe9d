/**
 * One variant of `lockstep bench realsize`, in its own process so that its load time and peak RSS are its own:
 * `node out/bench/realsize/realsizeChild.js '<VariantJob JSON>'` prints one VariantRow as JSON on stdout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../src/engine/process/engine';
import { CausalLM } from '../../src/engine/runtime/model';
import { onnxFileFor } from '../../src/engine/runtime/modelDir';
import { heldoutPrompts, median } from '../common';

export interface VariantJob {
  label: string;
  target: string;
  variant: string;
  /** The stand-in drafter (absent: no model drafter), loaded in `drafterVariant`. */
  drafter?: string;
  drafterVariant: string;
  threads: number;
  /** Tokens already in the cache when call times are measured, and the prefill's length. */
  past: number;
  repeats: number;
  prompts: number;
  maxTokens: number;
  /** Only load, RSS, call and prefill times (no drafter, no decoding): for slow variants on a busy machine. */
  skipDecode?: boolean;
  /** Let the engine load q4 files through its accuracy_level-4 copy (default true; src/engine/runtime/fastQ4.ts). */
  fastQ4?: boolean;
  /**
   * Only load the models (making a missing fused copy) and exit: run first in a process of its own, so that the
   * measured load is a second start's (the copy's making is not in its load time or RSS).
   */
  prepareOnly?: boolean;
}

export interface DecodeRow {
  drafter: string;
  tokensPerSecond: number;
  acceptance: number;
  tokensPerTargetCall: number;
}

export interface VariantRow {
  label: string;
  variant: string;
  fileMiB: number;
  loadSeconds: number;
  rssAfterLoadMiB: number;
  peakRssAfterLoadMiB: number;
  /** Set when the target was loaded through a patched copy (or could not be): CausalLM.loadNote. */
  loadNote: string | null;
  /** The file onnxruntime loaded (the fused copy by default) and its size with its external data. */
  loadedFile: string;
  loadedFileMiB: number;
  /** rssAfterLoadMiB ÷ loadedFileMiB (the goal: at most about 1.3). */
  rssOverLoadedFile: number;
  /** [last token, one draft] at past length `past`, padded by the call rule: the target's verification unit. */
  targetCallMs: number;
  /** A `past`-token prefill as one call: fetching the logits (forward) and not (prefill). */
  prefillWithLogitsMs: number;
  prefillNoLogitsMs: number;
  /** The stand-in drafter's one-token call at past length `past`, in drafterVariant. */
  drafterCallMs: number | null;
  decode: DecodeRow[];
  peakRssMiB: number;
}

const MiB = 1024 * 1024;

function fileMiB(dir: string, variant: string): number {
  return bytesMiB(path.join(dir, 'onnx', onnxFileFor(variant)));
}

function bytesMiB(f: string): number {
  let bytes = fs.statSync(f).size;
  if (fs.existsSync(`${f}_data`)) bytes += fs.statSync(`${f}_data`).size;
  return bytes / MiB;
}

/** Seeded ids in the BPE range (below the added tokens), never special. */
function ids(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), 1000 + (s % 100000)));
}

async function timeMs(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

async function measureModel(job: VariantJob): Promise<Omit<VariantRow, 'decode' | 'peakRssMiB' | 'drafterCallMs'>> {
  const t0 = performance.now();
  const m = await CausalLM.load(job.target, { variant: job.variant, threads: job.threads, fastQuantizedKernels: job.fastQ4 });
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoadMiB = process.memoryUsage().rss / MiB;
  const loadNote = m.loadNote;
  const peakRssAfterLoadMiB = process.resourceUsage().maxRSS / 1024;
  const prompt = ids(job.past, 1);
  const withLogits: number[] = [];
  const noLogits: number[] = [];
  // Interleaved, so that both arms see the same machine load.
  for (let r = 0; r < Math.max(2, Math.ceil(job.repeats / 4)); r++) {
    m.reset();
    withLogits.push(await timeMs(() => m.forward(prompt)));
    m.reset();
    noLogits.push(await timeMs(() => m.prefill(prompt)));
  }
  const calls: number[] = [];
  for (let r = 0; r < job.repeats; r++) {
    calls.push(await timeMs(() => m.forward([17, 42 + r])));
    await m.truncate(job.past);
  }
  await m.dispose();
  return {
    label: job.label, variant: job.variant, fileMiB: fileMiB(job.target, job.variant), loadSeconds, rssAfterLoadMiB,
    loadedFile: m.loadedFile, loadedFileMiB: bytesMiB(m.loadedFile), rssOverLoadedFile: rssAfterLoadMiB / bytesMiB(m.loadedFile),
    peakRssAfterLoadMiB, loadNote, targetCallMs: median(calls), prefillWithLogitsMs: median(withLogits), prefillNoLogitsMs: median(noLogits),
  };
}

async function drafterCall(job: VariantJob): Promise<number | null> {
  if (!job.drafter) return null;
  const d = await CausalLM.load(job.drafter, { variant: job.drafterVariant, threads: job.threads, minTokensPerCall: 1, fastQuantizedKernels: job.fastQ4 });
  await d.prefill(ids(job.past, 2));
  const calls: number[] = [];
  for (let r = 0; r < job.repeats; r++) {
    calls.push(await timeMs(() => d.forward([99 + r])));
    await d.truncate(job.past);
  }
  await d.dispose();
  return median(calls);
}

async function decode(job: VariantJob): Promise<DecodeRow[]> {
  const drafters = job.drafter ? [{ name: 'standin-drafter', dir: job.drafter, variant: job.drafterVariant }] : [];
  const engine = await Engine.create({
    target: job.target, variant: job.variant, threads: job.threads, drafters, fastQuantizedKernels: job.fastQ4,
  });
  const names = ['none', 'prompt-lookup', ...drafters.map((d) => d.name)];
  const acc = new Map<string, { tps: number[]; drafted: number; accepted: number; tokens: number; calls: number }>();
  for (const n of names) acc.set(n, { tps: [], drafted: 0, accepted: 0, tokens: 0, calls: 0 });
  for (const p of heldoutPrompts(job.prompts)) {
    for (const drafter of names) {
      engine.resetCaches();
      const r = await engine.complete({
        before: p.before, after: p.after, drafter, coupling: 'gumbel', seed: 1, gamma: 'auto', mode: 'free',
        maxTokens: job.maxTokens, maxPromptTokens: job.past, sampling: { temperature: 0.7, topK: 0, topP: 1 },
      });
      const a = acc.get(drafter)!;
      a.tps.push(r.tokensPerSecond);
      a.drafted += r.drafted;
      a.accepted += r.accepted;
      a.tokens += r.tokens;
      a.calls += r.targetCalls;
    }
  }
  await engine.dispose();
  return names.map((drafter) => {
    const a = acc.get(drafter)!;
    return {
      drafter, tokensPerSecond: median(a.tps), acceptance: a.drafted > 0 ? a.accepted / a.drafted : 0,
      tokensPerTargetCall: a.calls > 0 ? a.tokens / a.calls : 0,
    };
  });
}

/** Loads the target and drafter once, as a first start does (making their fused copies), and lets them go. */
async function prepare(job: VariantJob): Promise<void> {
  const m = await CausalLM.load(job.target, { variant: job.variant, threads: job.threads, fastQuantizedKernels: job.fastQ4 });
  await m.dispose();
  if (job.drafter) await (await CausalLM.load(job.drafter, { variant: job.drafterVariant, threads: job.threads, minTokensPerCall: 1, fastQuantizedKernels: job.fastQ4 })).dispose();
}

export async function runVariant(job: VariantJob): Promise<VariantRow> {
  const base = await measureModel(job);
  const drafterCallMs = job.skipDecode ? null : await drafterCall(job);
  const rows = job.skipDecode ? [] : await decode(job);
  return { ...base, drafterCallMs, decode: rows, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

if (require.main === module) {
  const job = JSON.parse(process.argv[2]) as VariantJob;
  (job.prepareOnly ? prepare(job).then(() => ({})) : runVariant(job)).then(
    (row) => process.stdout.write(`${JSON.stringify(row)}\n`),
    (e: Error) => {
      process.stderr.write(`${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
