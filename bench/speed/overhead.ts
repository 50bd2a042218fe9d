/**
 * `lockstep bench overhead` — figure 3, what the engine costs besides the models:
 *
 *  1. Per decode step (one target verification call), the share of wall time spent outside onnxruntime's
 *     session.run (CausalLM.runSeconds of the target and of the drafter), split into: forward() outside run (feeds,
 *     outputs, the padding slot's K/V cut), KV-cache rollback (truncate), and the rest (sampling, drafting logic,
 *     stop checks) — for autoregressive decoding and for speculative decoding with a model drafter and prompt lookup.
 *     Goal: ≤ 5 %. Garbage-collection pauses during the decode are counted too.
 *  2. Allocations in the vocabulary-sized loops (the samplers and the dense distributions used by standard
 *     speculative sampling), on real logits rows of the target: JS heap growth per call, measured over batches of
 *     calls between which no garbage collection ran. Goal: none.
 *  3. Peak resident set size of the process.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import { TargetState, TokenSink, generate } from '../../src/engine/decode/decode';
import type { Drafter } from '../../src/engine/decode/drafters/drafter';
import { ModelDrafter } from '../../src/engine/decode/drafters/model';
import { NoDrafter } from '../../src/engine/decode/drafters/none';
import { PromptLookupDrafter } from '../../src/engine/decode/drafters/promptLookup';
import { CouplingKind, makeSampler } from '../../src/engine/decode/couplings/registry';
import { CausalLM } from '../../src/engine/runtime/model';
import { argmaxLowestId } from '../../src/engine/decode/greedy';
import { Distribution } from '../../src/engine/decode/sampling';
import { sampleInverseCdf } from '../../src/engine/decode/couplings/standard';
import { SamplingSettings } from '../../src/engine/decode/types';
import { openEngine } from '../../src/cli/engineOpen';
import { ReportHead, headLines, heldoutPrompts, median, modelDir, modelDrafters, pct, reportHead, table, type BenchModelOptions } from '../common';
import { VegaLiteSpec } from '../report/plot';

export interface OverheadOptions extends BenchModelOptions {
  /** The model drafter (default: the target's recommended one). */
  drafter?: string;
  prompts?: number;
  maxTokens?: number;
  /** Calls per batch in the allocation check. */
  allocCalls?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

export const OVERHEAD_DEFAULTS = { prompts: 8, maxTokens: 64, allocCalls: 400 };

export interface OverheadRow {
  config: string;
  drafter: string;
  coupling: CouplingKind;
  temperature: number;
  gamma: number;
  tokens: number;
  /** Decode steps = target verification calls. */
  steps: number;
  wallSeconds: number;
  targetRunSeconds: number;
  drafterRunSeconds: number;
  /** forward() time outside session.run (target + drafter): feeds, outputs, padding cut. */
  forwardOtherSeconds: number;
  /** KV-cache rollback (truncate) outside forward(). */
  rollbackSeconds: number;
  /** Everything else: sampling, drafting logic, stop checks, bookkeeping. */
  restSeconds: number;
  gcSeconds: number;
  gcCount: number;
  /** (wall − session.run) / wall. */
  outsideRunShare: number;
  /** Milliseconds per decode step outside session.run. */
  outsideRunMsPerStep: number;
  msPerStep: number;
}

export interface AllocRow {
  loop: string;
  /** Median JS-heap growth per call over the batches without a garbage collection (null: every batch collected). */
  bytesPerCall: number | null;
  /** Batches without a collection, of all batches. */
  cleanBatches: number;
  batches: number;
  microsecondsPerCall: number;
  allocationFree: boolean;
}

export interface OverheadReport extends ReportHead {
  target: string;
  drafter: string;
  prompts: string[];
  maxTokens: number;
  vocabSize: number;
  rows: OverheadRow[];
  allocations: AllocRow[];
  peakRssMiB: number;
}

/** Never stops early: every configuration decodes exactly maxTokens tokens. */
const NEVER: TokenSink = { push: () => false };

interface Timers {
  forward: number;
  truncateInForward: number;
  truncateOutside: number;
  depth: number;
}

/** Wraps a model's forward() and truncate() on the instance to time them. */
function instrument(model: CausalLM): Timers {
  const t: Timers = { forward: 0, truncateInForward: 0, truncateOutside: 0, depth: 0 };
  const forward = model.forward.bind(model);
  const truncate = model.truncate.bind(model);
  model.forward = async (tokens) => {
    const s = performance.now();
    t.depth++;
    try {
      return await forward(tokens);
    } finally {
      t.depth--;
      t.forward += (performance.now() - s) / 1000;
    }
  };
  model.truncate = async (length) => {
    const s = performance.now();
    await truncate(length);
    const dt = (performance.now() - s) / 1000;
    if (t.depth > 0) t.truncateInForward += dt;
    else t.truncateOutside += dt;
  };
  return t;
}

function snapshot(m: CausalLM, t: Timers) {
  return { run: m.runSeconds, forward: t.forward, tin: t.truncateInForward, tout: t.truncateOutside };
}

export async function runOverhead(o: OverheadOptions, cwd: string): Promise<OverheadReport> {
  const t0 = performance.now();
  const drafterSpec = o.drafter ?? modelDrafters(o, cwd)[0];
  if (!drafterSpec) throw new Error('bench overhead needs a model drafter (--drafter)');
  const promptCount = o.prompts ?? OVERHEAD_DEFAULTS.prompts;
  const maxTokens = o.maxTokens ?? OVERHEAD_DEFAULTS.maxTokens;
  const allocCalls = o.allocCalls ?? OVERHEAD_DEFAULTS.allocCalls;
  const prompts = heldoutPrompts(promptCount, 3);
  const setup = await openEngine(o, [], cwd);
  const engine = setup.engine;
  const target = engine.target;
  const vocab = engine.tokenizer.vocabSize;
  const dDir = modelDir(drafterSpec, o, cwd);
  const dModel = await CausalLM.load(dDir, { threads: o.threads, minTokensPerCall: 1 });
  const tt = instrument(target);
  const dt = instrument(dModel);
  const model = new ModelDrafter(drafterSpec, dModel);
  const lookup = new PromptLookupDrafter();
  const none = new NoDrafter();
  const configs: { drafter: Drafter; coupling: CouplingKind; temperature: number; gamma: number }[] = [
    { drafter: none, coupling: 'gumbel', temperature: 0, gamma: 1 },
    { drafter: none, coupling: 'gumbel', temperature: 0.7, gamma: 1 },
    { drafter: none, coupling: 'wmh', temperature: 0.7, gamma: 1 },
    { drafter: none, coupling: 'standard', temperature: 0.7, gamma: 1 },
    { drafter: model, coupling: 'gumbel', temperature: 0.7, gamma: 4 },
    { drafter: model, coupling: 'wmh', temperature: 0.7, gamma: 4 },
    { drafter: model, coupling: 'standard', temperature: 0.7, gamma: 4 },
    { drafter: lookup, coupling: 'gumbel', temperature: 0.7, gamma: 4 },
  ];
  const acc = configs.map(() => ({ tokens: 0, steps: 0, wall: 0, trun: 0, drun: 0, fwdOther: 0, rollback: 0, rest: 0, gc: 0, gcCount: 0 }));
  let gcSeconds = 0;
  let gcCount = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcSeconds += e.duration / 1000;
      gcCount++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const allocations: AllocRow[] = [];
  const total = prompts.length * configs.length;
  let done = 0;
  try {
    const state = new TargetState(target);
    const settingsFor = (T: number): SamplingSettings => ({ temperature: T, topK: 0, topP: 1 });
    // Warm-up (untimed).
    const ids0 = engine.promptFor({ before: prompts[0].before, after: prompts[0].after, maxTokens });
    for (const c of configs) {
      await generate(state, c.drafter, { prompt: ids0, coupling: c.coupling, sampling: settingsFor(c.temperature), seed: 0, gamma: c.gamma, maxTokens: 8, sink: NEVER, vocabLimit: vocab });
    }
    for (let pi = 0; pi < prompts.length; pi++) {
      const ids = engine.promptFor({ before: prompts[pi].before, after: prompts[pi].after, maxTokens });
      for (let ci = 0; ci < configs.length; ci++) {
        const c = configs[(ci + pi) % configs.length];
        const a = acc[configs.indexOf(c)];
        // Untimed: both caches hold the prompt (the drafter drafts once from it).
        await state.sync(ids.slice(0, -1), 256);
        await model.draft(ids, 1, { sampler: makeSampler('gumbel', settingsFor(0.7), 0, vocab) });
        await new Promise((r) => setImmediate(r)); // let pending GC entries arrive before the snapshot
        const gc0 = gcSeconds;
        const gcn0 = gcCount;
        const s0 = snapshot(target, tt);
        const d0 = snapshot(dModel, dt);
        const stats = await generate(state, c.drafter, {
          prompt: ids, coupling: c.coupling, sampling: settingsFor(c.temperature), seed: pi, gamma: c.gamma, maxTokens, sink: NEVER, vocabLimit: vocab,
        });
        const s1 = snapshot(target, tt);
        const d1 = snapshot(dModel, dt);
        await new Promise((r) => setImmediate(r));
        const wall = stats.seconds - stats.prefillSeconds;
        const trun = s1.run - s0.run;
        const drun = d1.run - d0.run;
        const fwd = s1.forward - s0.forward + (d1.forward - d0.forward);
        const fwdOther = fwd - trun - drun;
        const rollback = s1.tout - s0.tout + (d1.tout - d0.tout);
        a.tokens += stats.tokens.length;
        a.steps += stats.rounds;
        a.wall += wall;
        a.trun += trun;
        a.drun += drun;
        a.fwdOther += fwdOther;
        a.rollback += rollback;
        a.rest += Math.max(0, wall - fwd - rollback);
        a.gc += gcSeconds - gc0;
        a.gcCount += gcCount - gcn0;
        o.onProgress?.(++done, total);
      }
    }
    // Allocation check on real logits rows of the target.
    await state.sync(ids0.slice(0, -1), 256);
    const rows = await target.forward(ids0.slice(-1).concat(ids0.slice(-1)));
    const row = rows.row(0).slice();
    allocations.push(...allocationCheck(row, vocab, allocCalls));
  } finally {
    obs.disconnect();
    await dModel.dispose();
    await engine.dispose();
  }
  const rows: OverheadRow[] = configs.map((c, i) => {
    const a = acc[i];
    const wall = Math.max(1e-12, a.wall);
    const outside = a.wall - a.trun - a.drun;
    return {
      config: `${c.drafter.name}${c.drafter.name === 'none' ? '' : ` γ=${c.gamma}`}, ${c.coupling}, T=${c.temperature}`,
      drafter: c.drafter.name, coupling: c.coupling, temperature: c.temperature, gamma: c.drafter.name === 'none' ? 0 : c.gamma,
      tokens: a.tokens, steps: a.steps, wallSeconds: a.wall, targetRunSeconds: a.trun, drafterRunSeconds: a.drun,
      forwardOtherSeconds: a.fwdOther, rollbackSeconds: a.rollback, restSeconds: a.rest, gcSeconds: a.gc, gcCount: a.gcCount,
      outsideRunShare: outside / wall, outsideRunMsPerStep: a.steps > 0 ? (1000 * outside) / a.steps : 0,
      msPerStep: a.steps > 0 ? (1000 * a.wall) / a.steps : 0,
    };
  });
  const models: Record<string, string> = { target: setup.targetDir, [drafterSpec]: dDir };
  return {
    ...reportHead('overhead', o.argv ?? ['bench', 'overhead'], o.threads ?? 0, models, t0),
    target: setup.targetSpec, drafter: drafterSpec, prompts: prompts.map((p) => p.label), maxTokens, vocabSize: vocab,
    rows, allocations, peakRssMiB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  };
}

/**
 * Below this many bytes per call a loop counts as allocation-free: less than one heap number (16 bytes) per call on
 * average, the resolution of the measurement (the per-token loops allocate a heap number per token or more when they
 * allocate at all: ≥ 16 · V bytes per call).
 */
export const ALLOCATION_FREE_BYTES = 16;

/** JS-heap growth per call of each vocabulary-sized loop, over batches free of garbage collection. */
export function allocationCheck(row: Float32Array, vocab: number, calls: number, warmup = Math.max(500, 2 * calls), batches = 12): AllocRow[] {
  const n = Math.min(vocab, row.length);
  const dist = new Distribution(vocab);
  const dense = new Float32Array(row.length);
  const s = (temperature: number, topK = 0, topP = 1): SamplingSettings => ({ temperature, topK, topP });
  const loops: [string, (i: number) => number][] = [];
  for (const T of [1, 0.7, 0.2]) {
    const g = makeSampler('gumbel', s(T), 0, vocab);
    loops.push([`Gumbel sample, T=${T}`, (i) => g.sample(row, i)]);
  }
  const gz = makeSampler('gumbel', s(0), 0, vocab);
  loops.push(['Gumbel sample, T=0 (argmax)', (i) => gz.sample(row, i)]);
  const gp = makeSampler('gumbel', s(0.7, 40, 0.9), 0, vocab);
  loops.push(['Gumbel sample, T=0.7 top-k 40 top-p 0.9', (i) => gp.sample(row, i)]);
  for (const T of [1, 0.7]) {
    const w = makeSampler('wmh', s(T), 0, vocab);
    loops.push([`WMH sample, T=${T}`, (i) => w.sample(row, i)]);
  }
  loops.push(['Distribution.fromLogits + fullProbs, T=0.7 (standard)', () => {
    dist.fromLogits(row, s(0.7));
    dist.fullProbs(dense);
    return sampleInverseCdf(dense, n, 0.5);
  }]);
  loops.push(['Distribution.fromLogits, T=0.7 top-p 0.9', () => {
    dist.fromLogits(row, s(0.7, 0, 0.9));
    return dist.size;
  }]);
  loops.push(['argmax', () => argmaxLowestId(row, n)]);
  // One batch: growth of the young generation (where every new JS object goes) over `calls` calls, or null when
  // a scavenge ran in between (the young generation shrank).
  const young = () => {
    let used = 0;
    for (const sp of v8.getHeapSpaceStatistics()) {
      if (sp.space_name === 'new_space' || sp.space_name === 'new_large_object_space') used += sp.space_used_size;
    }
    return used;
  };
  const measure = (f: (i: number) => number, b: number): { bytes: number | null; us: number; sink: number } => {
    let sink = 0;
    const h0 = young();
    const t = performance.now();
    for (let i = 0; i < calls; i++) sink += f(1000 + b * calls + i);
    const el = performance.now() - t;
    const h1 = young();
    return { bytes: h1 >= h0 ? h1 - h0 : null, us: (1000 * el) / calls, sink };
  };
  let sink = 0;
  const run = (f: (i: number) => number) => {
    // Warm-up: optimise, size the scratch (the engine calls these thousands of times per completion).
    for (let i = 0; i < warmup; i++) sink += f(i);
    const bytes: number[] = [];
    const times: number[] = [];
    for (let b = 0; b < batches; b++) {
      const m = measure(f, b);
      sink += m.sink;
      times.push(m.us);
      if (m.bytes !== null) bytes.push(m.bytes);
    }
    return { bytes, times };
  };
  // The measurement's own heap use (the statistics objects), subtracted from every loop's.
  const empty = run(() => 0);
  const base = empty.bytes.length > 0 ? median(empty.bytes) : 0;
  const out: AllocRow[] = [];
  for (const [loop, f] of loops) {
    const { bytes, times } = run(f);
    const perCall = bytes.length > 0 ? Math.max(0, median(bytes) - base) / calls : null;
    out.push({
      loop, bytesPerCall: perCall === null ? null : Math.round(perCall * 100) / 100, cleanBatches: bytes.length, batches,
      microsecondsPerCall: Math.round(median(times) * 100) / 100, allocationFree: perCall !== null && perCall < ALLOCATION_FREE_BYTES,
    });
  }
  if (sink === -1) out.push(); // keep the calls observable
  return out;
}

export function formatOverhead(r: OverheadReport): string {
  const lines = [headLines(r).trimEnd()];
  lines.push(`target ${r.target}, drafter ${r.drafter}; ${r.prompts.length} held-out prompts × ${r.maxTokens} tokens per configuration; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['configuration', 'steps', 'ms/step', 'run (target)', 'run (drafter)', 'forward other', 'KV rollback', 'rest', 'GC', 'outside run', 'ms/step outside'],
    r.rows.map((x) => {
      const w = Math.max(1e-12, x.wallSeconds);
      return [
        x.config, String(x.steps), x.msPerStep.toFixed(2), pct(x.targetRunSeconds / w), pct(x.drafterRunSeconds / w),
        pct(x.forwardOtherSeconds / w), pct(x.rollbackSeconds / w), pct(x.restSeconds / w), pct(x.gcSeconds / w),
        pct(x.outsideRunShare), x.outsideRunMsPerStep.toFixed(3),
      ];
    }),
  ));
  lines.push('');
  lines.push(`Vocabulary-sized loops (V = ${r.vocabSize}), on a real logits row of the target:`);
  lines.push(table(
    ['loop', 'µs/call', 'heap bytes/call', 'clean batches', 'allocation-free'],
    r.allocations.map((a) => [a.loop, a.microsecondsPerCall.toFixed(2), a.bytesPerCall === null ? 'GC in every batch' : a.bytesPerCall.toFixed(2),
      `${a.cleanBatches}/${a.batches}`, a.allocationFree ? 'yes' : 'NO']),
  ));
  lines.push('');
  lines.push(`peak RSS ${r.peakRssMiB.toFixed(1)} MiB (the whole benchmark process). Shares are of decode wall time (prefill ` +
    'excluded); "outside run" = 1 − session.run share (goal ≤ 5 %); GC pauses overlap the other columns. Heap bytes/call: ' +
    `young-generation growth per call over batches without a scavenge; allocation-free: < ${ALLOCATION_FREE_BYTES} bytes/call.`);
  return `${lines.join('\n')}\n`;
}

const PARTS = ['target session.run', 'drafter session.run', 'forward() outside run', 'KV rollback', 'sampling, drafting, rest'];

/** Figure 3: milliseconds per decode step, split by where the time goes. */
export function overheadFigure(r: OverheadReport, note = ''): VegaLiteSpec {
  const values = r.rows.flatMap((x) => {
    const per = (s: number) => (x.steps > 0 ? (1000 * s) / x.steps : 0);
    const v = [x.targetRunSeconds, x.drafterRunSeconds, x.forwardOtherSeconds, x.rollbackSeconds, x.restSeconds].map(per);
    return PARTS.map((part, i) => ({ config: `${x.config} — ${pct(x.outsideRunShare)} outside run`, part, order: i, ms: v[i] }));
  });
  return {
    title: {
      text: 'Where a decode step goes (milliseconds per target call)',
      subtitle: [`target ${r.target}, drafter ${r.drafter}; ${r.prompts.length} prompts × ${r.maxTokens} tokens; peak RSS ${r.peakRssMiB.toFixed(0)} MiB; ` +
        `${r.machine.cpu} × ${r.machine.cores}`, ...(note ? [note] : [])],
    },
    data: { values },
    width: 520,
    height: { step: 22 },
    mark: 'bar',
    encoding: {
      y: { field: 'config', type: 'nominal', title: null, sort: null, axis: { labelLimit: 700 } },
      x: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'ms per decode step' },
      color: { field: 'part', type: 'nominal', title: null, scale: { domain: PARTS, range: ['#1f77b4', '#aec7e8', '#ff7f0e', '#d62728', '#9467bd'] }, legend: { orient: 'bottom', columns: 3 } },
      order: { field: 'order', type: 'quantitative' },
    },
  };
}
