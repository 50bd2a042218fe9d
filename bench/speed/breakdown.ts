/**
 * `lockstep bench breakdown` — where the time of one target decode call goes, on plain autoregressive decoding of
 * held-out prompts (one token per call, padded to two by the CPU call rule):
 * - JS around run(): cutting the KV cache (the previous call's padding slot), building feeds, taking outputs
 *   (CausalLM.timing), and sampling (argmax at T = 0; a Gumbel sample at T = 0.7 timed on the same rows);
 * - inside run(), from onnxruntime's own profiler on a second, profiled session of the same model: the model_run
 *   span, the kernels' time summed by operator, and the rest (onnxruntime's executor, allocation, the KV concat);
 *   the JS-measured run() minus model_run is the binding (feeds in, every output copied out to JS);
 * - padding: the same steps on a third session that may run single-token calls (not exact: measurement only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelOptions, openEngine } from '../../src/cli/engineOpen';
import { makeSampler } from '../../src/engine/decode/couplings/registry';
import { argmaxLowestId } from '../../src/engine/decode/greedy';
import { CausalLM } from '../../src/engine/runtime/model';
import { ReportHead, headLines, heldoutPrompts, reportHead, table } from '../common';

export const BREAKDOWN_DEFAULTS = { prompts: 8, maxTokens: 64 };

export interface BreakdownRow {
  part: string;
  /** Milliseconds per decode call (mean over calls). */
  msPerCall: number;
  /** Share of the whole decode step (model call + sampling), unprofiled session. */
  share: number;
}

export interface BreakdownReport extends ReportHead {
  target: string;
  threads: number;
  prompts: number;
  calls: number;
  /** Mean past length (cached tokens) of the timed calls. */
  meanPast: number;
  rows: BreakdownRow[];
  /** Kernel time per call by operator type, profiled session (ms), largest first. */
  operators: { op: string; msPerCall: number; nodesPerCall: number }[];
  profiled: { modelRunMs: number; kernelsMs: number; jsRunMs: number; nodesPerCall: number };
  padding: { paddedRunMs: number; unpaddedRunMs: number };
}

export interface BreakdownOptions extends ModelOptions {
  prompts?: number;
  maxTokens?: number;
  quick?: boolean;
  profileDir: string;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  ts?: number;
  dur?: number;
  args?: { op_name?: string };
}

interface ProfileSums {
  runs: number;
  modelRunUs: number;
  nodes: number;
  kernelUs: Map<string, { us: number; n: number }>;
}

/**
 * Sums onnxruntime's profile over the decode runs only: runs come in groups of `group` (a prefill, then the decode
 * calls of one prompt) and the first of each group is skipped, with the kernels inside it.
 */
function readProfile(file: string, group: number): ProfileSums {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0));
  const spans = runs.map((e, i) => ({ from: e.ts ?? 0, to: (e.ts ?? 0) + (e.dur ?? 0), decode: i % group !== 0 }));
  const sums: ProfileSums = { runs: 0, modelRunUs: 0, nodes: 0, kernelUs: new Map() };
  for (const s of spans) if (s.decode) sums.runs++;
  runs.forEach((e, i) => { if (spans[i].decode) sums.modelRunUs += e.dur ?? 0; });
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time')) continue;
    const ts = e.ts ?? 0;
    let lo = 0;
    let hi = spans.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (spans[mid].from <= ts) lo = mid;
      else hi = mid - 1;
    }
    if (!spans[lo]?.decode || ts > spans[lo].to) continue;
    const op = e.args?.op_name ?? '?';
    const k = sums.kernelUs.get(op) ?? { us: 0, n: 0 };
    k.us += e.dur ?? 0;
    k.n++;
    sums.nodes++;
    sums.kernelUs.set(op, k);
  }
  return sums;
}

export async function runBreakdown(o: BreakdownOptions, cwd: string): Promise<BreakdownReport> {
  const t0 = performance.now();
  const quick = o.quick === true;
  const threads = o.threads ?? 1;
  const nPrompts = o.prompts ?? (quick ? 1 : BREAKDOWN_DEFAULTS.prompts);
  const maxTokens = o.maxTokens ?? (quick ? 8 : BREAKDOWN_DEFAULTS.maxTokens);
  const setup = await openEngine({ ...o, threads }, [], cwd);
  const { engine } = setup;
  const vocab = engine.tokenizer.vocabSize;
  const prompts = heldoutPrompts(nPrompts, 2).map((p) =>
    engine.promptFor({ before: p.before, after: p.after, maxTokens }));
  fs.rmSync(o.profileDir, { recursive: true, force: true });
  fs.mkdirSync(o.profileDir, { recursive: true });
  const plain = engine.target;
  const profiled = await CausalLM.load(setup.targetDir, { threads, profilePrefix: path.join(o.profileDir, 'target'), fusedOps: o['no-fused'] !== true });
  const unpadded = await CausalLM.load(setup.targetDir, { threads, minTokensPerCall: 1, fusedOps: o['no-fused'] !== true });
  const gumbel = makeSampler('gumbel', { temperature: 0.7, topK: 0, topP: 1 }, 0, vocab);
  const acc = { step: 0, sampleArgmax: 0, sampleGumbel: 0, calls: 0, past: 0 };
  const dec = { cut: 0, feeds: 0, run: 0, outputs: 0 };
  const runBefore = { profiled: 0, unpadded: 0, padded: 0 };
  let profiledCalls = 0;
  let unpaddedCalls = 0;
  let paddedSeconds = 0;
  const total = nPrompts * 3;
  let done = 0;
  try {
    for (const ids of prompts) {
      // Interleaved per prompt: the real session (timed parts), the profiled one, the unpadded one.
      const greedy: number[] = [];
      plain.reset();
      let rows = await plain.forward(ids);
      let next = argmaxLowestId(rows.row(rows.count - 1), vocab);
      const t = { ...plain.timing };
      for (let i = 0; i < maxTokens; i++) {
        greedy.push(next);
        acc.past += plain.length;
        const s0 = performance.now();
        rows = await plain.forward([next]);
        const s1 = performance.now();
        const row = rows.row(rows.count - 1);
        next = argmaxLowestId(row, vocab);
        const s2 = performance.now();
        acc.step += (s2 - s0) / 1000;
        acc.sampleArgmax += (s2 - s1) / 1000;
        const g0 = performance.now();
        gumbel.sample(row, ids.length + i);
        acc.sampleGumbel += (performance.now() - g0) / 1000;
        acc.calls++;
      }
      paddedSeconds += plain.timing.run - t.run;
      for (const k of ['cut', 'feeds', 'run', 'outputs'] as const) dec[k] += plain.timing[k] - t[k];
      o.onProgress?.(++done, total);
      for (const [m, key] of [[profiled, 'profiled'], [unpadded, 'unpadded']] as const) {
        m.reset();
        await m.forward(ids);
        const r0 = m.timing.run;
        for (const tok of greedy) await m.forward([tok]);
        runBefore[key] += m.timing.run - r0;
        if (key === 'profiled') profiledCalls += greedy.length;
        else unpaddedCalls += greedy.length;
        o.onProgress?.(++done, total);
      }
    }
  } finally {
    profiled.endProfiling();
    await profiled.dispose();
    await unpadded.dispose();
  }
  const n = acc.calls;
  const ms = (sec: number) => (sec * 1000) / n;
  const file = fs.readdirSync(o.profileDir).filter((f) => f.endsWith('.json')).map((f) => path.join(o.profileDir, f))[0];
  if (!file) throw new Error(`onnxruntime wrote no profile into ${o.profileDir}`);
  const prof = readProfile(file, maxTokens + 1);
  const stepMs = ms(acc.step);
  const row = (part: string, v: number): BreakdownRow => ({ part, msPerCall: v, share: v / stepMs });
  const part = (k: keyof typeof dec) => ms(dec[k]);
  const perRun = (us: number) => us / 1000 / Math.max(1, prof.runs);
  let kernelsUs = 0;
  for (const k of prof.kernelUs.values()) kernelsUs += k.us;
  const jsRunMs = (runBefore.profiled * 1000) / profiledCalls;
  const modelRunMs = perRun(prof.modelRunUs);
  const kernelsMs = perRun(kernelsUs);
  // The profiled session's split of run(), scaled to the unprofiled session's run time (profiling adds its own cost).
  const runMs = part('run');
  const scale = runMs / jsRunMs;
  const rows = [
    row('whole decode step (model call + argmax)', stepMs),
    row('  KV cut (padding slot of the previous call)', part('cut')),
    row('  feeds (ids, positions, mask, tensors)', part('feeds')),
    row('  session.run() as seen from JS', runMs),
    row('    binding: inputs in, outputs copied to JS', (jsRunMs - modelRunMs) * scale),
    row('    onnxruntime executor outside kernels', (modelRunMs - kernelsMs) * scale),
    row('    kernels', kernelsMs * scale),
    row('  outputs (present K/V, logits rows)', part('outputs')),
    row('  argmax sampling (T = 0)', ms(acc.sampleArgmax)),
    row('  rest of the step (JS)', stepMs - part('cut') - part('feeds') - runMs - part('outputs') - ms(acc.sampleArgmax)),
    row('Gumbel sample at T = 0.7 (instead of argmax)', ms(acc.sampleGumbel)),
    row('padding: run() of 2 tokens − of 1 token', (paddedSeconds * 1000) / n - (runBefore.unpadded * 1000) / unpaddedCalls),
  ];
  const operators = [...prof.kernelUs.entries()]
    .map(([op, k]) => ({ op, msPerCall: perRun(k.us) * scale, nodesPerCall: k.n / Math.max(1, prof.runs) }))
    .sort((a, b) => b.msPerCall - a.msPerCall);
  const report: BreakdownReport = {
    ...reportHead('breakdown', o.argv ?? ['bench', 'breakdown'], threads, { target: setup.targetDir }, t0),
    target: setup.targetSpec, threads, prompts: nPrompts, calls: n, meanPast: acc.past / n, rows, operators,
    profiled: { modelRunMs, kernelsMs, jsRunMs, nodesPerCall: prof.nodes / Math.max(1, prof.runs) },
    padding: { paddedRunMs: (paddedSeconds * 1000) / n, unpaddedRunMs: (runBefore.unpadded * 1000) / unpaddedCalls },
  };
  await engine.dispose();
  return report;
}

export function formatBreakdown(r: BreakdownReport): string {
  const lines = [headLines(r).trimEnd(), ''];
  lines.push(`Per decode call of ${r.target} (${r.calls} calls, ${r.prompts} prompts, mean past ${r.meanPast.toFixed(0)} tokens, ${r.threads} thread${r.threads === 1 ? '' : 's'}):`);
  lines.push(table(['part', 'ms/call', 'share'], r.rows.map((x) => [x.part, x.msPerCall.toFixed(3), `${(x.share * 100).toFixed(1)}%`])));
  lines.push('');
  lines.push(`Profiled session: run() ${r.profiled.jsRunMs.toFixed(3)} ms from JS, model_run ${r.profiled.modelRunMs.toFixed(3)} ms, kernels ${r.profiled.kernelsMs.toFixed(3)} ms, ${r.profiled.nodesPerCall.toFixed(0)} kernels per call.`);
  lines.push('Kernels by operator (scaled to the unprofiled run time):');
  lines.push(table(['operator', 'ms/call', 'kernels/call'], r.operators.slice(0, 12).map((x) => [x.op, x.msPerCall.toFixed(3), x.nodesPerCall.toFixed(0)])));
  return `${lines.join('\n')}\n`;
}
