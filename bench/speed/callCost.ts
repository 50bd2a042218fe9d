/**
 * `lockstep bench callcost` — what a call of k tokens costs against a call of one, T(k)/T(1) for k = 1…16, for
 * Lockstep's default path on a folder (the engine's own target model: preferred variant, fused copy, call rule) and
 * for llama.cpp on the same weights (Q4_0 against a 4-bit default, F32 against fp32), each after a prefix of `past`
 * tokens, every position's logits computed (a verification needs them all: llama.cpp samples each row). From the
 * curve, the speed-up speculative decoding can give with a free drafter (prompt lookup) at acceptance α and γ drafts
 * per call: E[tokens per call] = (1 − α^(γ+1)) / (1 − α) (Leviathan et al. 2023, eq. 1) over T(γ+1)/T(1), best γ.
 */
import { openEngine, type ModelOptions } from '../../src/cli/engineOpen';
import { ReportHead, median, reportHead } from '../common';
import { convertToGguf } from '../peer/convert';
import { LlamaPeer } from '../peer/llamaPeer';
import * as path from 'node:path';
import * as fs from 'node:fs';

export const CALLCOST_DEFAULTS = { past: 512, maxK: 16, repeats: 5 };
export const ACCEPTANCES = [0.5, 0.6, 0.7, 0.8, 0.9] as const;

export interface CallCostRow {
  system: 'lockstep' | 'llama.cpp';
  threads: number;
  k: number;
  /** Median ms of a call carrying k new tokens (Lockstep's one-token call padded as its call rule says). */
  ms: number;
  /** ms ÷ the same system's k = 1. */
  ratio: number;
}

export interface Prediction {
  system: 'lockstep' | 'llama.cpp';
  threads: number;
  acceptance: number;
  /** γ with the best predicted speed-up, and that speed-up over plain decoding. */
  gamma: number;
  speedup: number;
}

export interface CallCostReport extends ReportHead {
  target: string;
  variant: string;
  loadedFile: string;
  llamaType: string;
  past: number;
  rows: CallCostRow[];
  predictions: Prediction[];
}

export interface CallCostOptions extends ModelOptions {
  threadList: number[];
  past?: number;
  maxK?: number;
  repeats?: number;
  ggufDir: string;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

/** Expected tokens per verification call with γ drafts accepted independently with probability α (Leviathan et al. eq. 1). */
export function expectedTokens(alpha: number, gamma: number): number {
  return alpha >= 1 ? gamma + 1 : (1 - alpha ** (gamma + 1)) / (1 - alpha);
}

/** The best γ (1 … maxK − 1) for a free drafter: E(α, γ) ÷ (T(γ + 1) / T(1)). */
export function predictSpeedup(ratios: ReadonlyMap<number, number>, alpha: number): { gamma: number; speedup: number } {
  let best = { gamma: 0, speedup: 1 };
  for (const [k, r] of ratios) {
    if (k < 2) continue;
    const s = expectedTokens(alpha, k - 1) / r;
    if (s > best.speedup) best = { gamma: k - 1, speedup: s };
  }
  return best;
}

export async function runCallCost(o: CallCostOptions, cwd: string): Promise<CallCostReport> {
  const t0 = performance.now();
  const past = o.past ?? CALLCOST_DEFAULTS.past;
  const maxK = o.maxK ?? CALLCOST_DEFAULTS.maxK;
  const repeats = o.repeats ?? CALLCOST_DEFAULTS.repeats;
  const ks = Array.from({ length: maxK }, (_, i) => i + 1);
  const rows: CallCostRow[] = [];
  const predictions: Prediction[] = [];
  const total = o.threadList.length * 2 * ks.length;
  let done = 0;
  let head: { dir: string; spec: string; variant: string; file: string; type: 'q4_0' | 'f32'; gguf: string } | undefined;
  for (const threads of o.threadList) {
    const setup = await openEngine({ ...o, threads }, [], cwd);
    const model = setup.engine.target;
    if (!head) {
      const type = model.variant.startsWith('q4') ? 'q4_0' : 'f32';
      fs.mkdirSync(o.ggufDir, { recursive: true });
      const gguf = convertToGguf(setup.targetDir, path.join(o.ggufDir, `${path.basename(setup.targetDir)}${type === 'f32' ? '' : `-${type}`}.gguf`), type).file;
      head = { dir: setup.targetDir, spec: setup.targetSpec, variant: model.variant, file: model.loadedFile, type, gguf };
    }
    const vocab = model.config.vocabSize;
    const prefix = Array.from({ length: past }, (_, i) => (i * 7919 + 17) % Math.min(vocab - 8, 150000));
    const draft = (k: number) => Array.from({ length: k }, (_, i) => prefix[(i * 13 + 5) % past]);
    const own = new Map<number, number>();
    model.reset();
    await model.prefill(prefix);
    for (const k of ks) {
      const samples: number[] = [];
      for (let r = 0; r <= repeats; r++) {
        const t = performance.now();
        await model.forward(draft(k));
        const ms = performance.now() - t;
        await model.truncate(past);
        if (r > 0) samples.push(ms); // the first call of each k warms the kernels for that shape
      }
      own.set(k, median(samples));
      o.onProgress?.(++done, total);
    }
    await setup.engine.dispose();
    const peer = await LlamaPeer.load(head.gguf, threads, Math.min(4096, past + maxK + 8));
    let theirs: Map<number, number>;
    try {
      theirs = await peer.callTimes(prefix, ks, repeats, () => o.onProgress?.(++done, total));
    } finally {
      await peer.dispose();
    }
    for (const [system, m] of [['lockstep', own], ['llama.cpp', theirs]] as const) {
      const one = m.get(1)!;
      const ratios = new Map([...m].map(([k, ms]) => [k, ms / one]));
      for (const [k, ms] of m) rows.push({ system, threads, k, ms, ratio: ms / one });
      for (const a of ACCEPTANCES) predictions.push({ system, threads, acceptance: a, ...predictSpeedup(ratios, a) });
    }
  }
  return {
    ...reportHead('callcost', o.argv ?? ['bench', 'callcost'], o.threadList[0], { target: head!.dir }, t0),
    target: head!.spec, variant: head!.variant, loadedFile: head!.file, llamaType: head!.type.toUpperCase(), past, rows, predictions,
  };
}

export function formatCallCost(r: CallCostReport): string {
  const lines = [`${r.target}: Lockstep ${r.variant} (${r.loadedFile}) against llama.cpp ${r.llamaType}, past ${r.past} tokens`];
  const threads = [...new Set(r.rows.map((x) => x.threads))];
  for (const t of threads) {
    lines.push(`\n${t} thread${t === 1 ? '' : 's'}:   k  Lockstep ms  T(k)/T(1)   llama.cpp ms  T(k)/T(1)`);
    const ks = [...new Set(r.rows.map((x) => x.k))];
    for (const k of ks) {
      const a = r.rows.find((x) => x.system === 'lockstep' && x.threads === t && x.k === k)!;
      const b = r.rows.find((x) => x.system === 'llama.cpp' && x.threads === t && x.k === k)!;
      lines.push(`            ${String(k).padStart(3)}  ${a.ms.toFixed(1).padStart(11)}  ${a.ratio.toFixed(2).padStart(9)}   ${b.ms.toFixed(1).padStart(12)}  ${b.ratio.toFixed(2).padStart(9)}`);
    }
    lines.push('  predicted speed-up with a free drafter (best γ): acceptance → Lockstep | llama.cpp');
    for (const a of ACCEPTANCES) {
      const p = (s: string) => r.predictions.find((x) => x.system === s && x.threads === t && x.acceptance === a)!;
      const l = p('lockstep');
      const c = p('llama.cpp');
      lines.push(`    α ${a.toFixed(1)}: ${l.speedup.toFixed(2)}× (γ ${l.gamma}) | ${c.speedup.toFixed(2)}× (γ ${c.gamma})`);
    }
  }
  return `${lines.join('\n')}\n`;
}
