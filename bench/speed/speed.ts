/**
 * `lockstep bench` — speed (figure 2): wall-clock tokens/s of coupled speculative decoding (Gumbel, Weighted
 * MinHash) and of standard speculative sampling against plain autoregressive decoding of the target, for each
 * drafter, γ and temperature, on held-out FIM prompts.
 *
 * Noise control: per prompt, the autoregressive baseline of each (coupling, T) and every configuration run back to
 * back (interleaved), with the caches of the target and of each model drafter already holding the prompt (untimed
 * warm-up), so every configuration pays the same. The speedup is the median over prompts of the per-prompt ratio
 * (tokens/s ÷ the baseline's tokens/s on that prompt); its spread is the interquartile range and the extremes.
 *
 * Leviathan et al.'s prediction (1 − α^{γ+1}) / ((1 − α)(γc + 1)) uses the measured acceptance α, the drafts made
 * per round (≤ γ), and c = drafter seconds per call ÷ target seconds per call (inside session.run, this row's
 * verification calls). efficiency = measured ÷ predicted: below 1 when a verification call costs more than an
 * autoregressive step (verifyCost = its seconds ÷ the autoregressive baseline's seconds per call, same run, > 1) or
 * the engine spends time outside the models.
 */
import type { DecodeGrid } from '../../src/cli/verifyGrid';
import { DeviceOutcome, describeOutcome } from '../../src/engine/runtime/device';
import { CompletionMode, CompletionResult } from '../../src/engine/process/engine';
import { predictedSpeedup } from '../../src/engine/decode/decode';
import { COUPLING_IDS, CouplingKind } from '../../src/engine/decode/couplings/registry';
import { formatDrafterSpec } from '../../src/engine/decode/drafters/drafterSpec';
import { DrafterPlan, ModelOptions, openEngine } from '../../src/cli/engineOpen';
import { PromptText } from '../../src/cli/prompts';
import {
  ReportHead, headLines, heldoutPrompts, median, modelDrafters, quantile, reportHead, table,
} from '../common';
import { VegaLiteSpec } from '../report/plot';

export interface BenchRow {
  drafter: string;
  coupling: CouplingKind;
  gamma: number | 'auto';
  temperature: number;
  /** Completions timed (one per prompt). */
  runs: number;
  tokens: number;
  /** Decode tokens/s over all prompts (prefill excluded). */
  tokensPerSecond: number;
  /** Median over prompts of (tokens/s with this drafter) / (tokens/s autoregressive), same run, same prompt. */
  speedup: number;
  speedupP25: number;
  speedupP75: number;
  speedupMin: number;
  speedupMax: number;
  /** Accepted drafts / drafted tokens. */
  acceptance: number;
  /** Accepted drafts per target verification call. */
  acceptedPerCall: number;
  /** Emitted tokens per target verification call (accepted drafts + the target's own token). */
  tokensPerTargetCall: number;
  /** Target model calls per completion (prefill included) and verification rounds per completion. */
  targetCallsPerCompletion: number;
  roundsPerCompletion: number;
  /** Mean drafts per verification round (the γ used for the prediction, capped by a fixed γ). */
  effectiveGamma: number;
  /** Drafter seconds per call ÷ the target's seconds per (verification) call (Leviathan's c). */
  costRatio: number;
  /** Target seconds per verification call ÷ per autoregressive call (> 1: wider calls cost more). */
  verifyCost: number;
  targetSecondsPerCall: number;
  drafterSecondsPerCall: number;
  predictedSpeedup: number;
  efficiency: number;
}

export interface BenchReport extends ReportHead {
  /** The execution device the engine used (absent in results from before devices existed: the CPU). */
  device?: DeviceOutcome;
  target: string;
  drafters: string[];
  couplings: CouplingKind[];
  gammas: (number | 'auto')[];
  temperatures: number[];
  prompts: string[];
  maxTokens: number;
  mode: CompletionMode;
  rows: BenchRow[];
}

export interface BenchOptions extends ModelOptions, DecodeGrid {
  prompts?: number;
  /** argv after `lockstep`, recorded in the report. */
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

export const SPEED_DEFAULTS = {
  couplings: [...COUPLING_IDS],
  gammas: [1, 2, 4, 6, 8, 'auto'] as (number | 'auto')[],
  temperatures: [0, 0.2, 0.7],
  prompts: 50,
  maxTokens: 48,
};

interface RunFigures {
  tokens: number;
  decodeSeconds: number;
  rounds: number;
  drafted: number;
  accepted: number;
  targetCalls: number;
  targetDecodeSeconds: number;
  drafterCalls: number;
  drafterSeconds: number;
}

function figures(r: CompletionResult): RunFigures {
  const decodeSeconds = Math.max(1e-9, r.seconds - r.prefillSeconds);
  return {
    tokens: r.tokens, decodeSeconds, rounds: r.rounds, drafted: r.drafted, accepted: r.accepted, targetCalls: r.targetCalls,
    targetDecodeSeconds: Math.max(1e-9, Math.min(decodeSeconds, r.targetSeconds - r.prefillSeconds)),
    drafterCalls: r.drafterCalls, drafterSeconds: r.drafterSeconds,
  };
}

interface Config {
  plan: DrafterPlan | null;
  coupling: CouplingKind;
  gamma: number | 'auto';
  temperature: number;
}

/** The default drafters: prompt lookup, every model drafter, and lookup + the recommended model. */
export function defaultSpeedDrafters(o: { catalog?: string; target?: string }, cwd: string): string[] {
  const models = modelDrafters(o, cwd);
  return ['prompt-lookup', ...models, ...(models.length > 0 ? [formatDrafterSpec({ kind: 'lookup-then-model', model: models[0] })] : [])];
}

export async function runBench(b: BenchOptions, cwd: string): Promise<BenchReport> {
  const t0 = performance.now();
  let drafterSpecs = b.drafters && b.drafters.length > 0 ? b.drafters : defaultSpeedDrafters(b, cwd);
  drafterSpecs = [...new Set(drafterSpecs.filter((d) => d !== 'none'))];
  const couplings = b.couplings && b.couplings.length > 0 ? [...new Set(b.couplings)] : SPEED_DEFAULTS.couplings;
  const gammas = b.gammas && b.gammas.length > 0 ? [...new Set(b.gammas)] : SPEED_DEFAULTS.gammas;
  const temperatures = b.temperatures && b.temperatures.length > 0 ? [...new Set(b.temperatures)] : SPEED_DEFAULTS.temperatures;
  const maxTokens = b.maxTokens ?? SPEED_DEFAULTS.maxTokens;
  const mode = b.mode ?? 'free';
  const prompts = heldoutPrompts(b.prompts ?? SPEED_DEFAULTS.prompts);
  const sampling = (temperature: number) => ({ temperature, topP: b.topP ?? 1, topK: b.topK ?? 0 });

  const setup = await openEngine(b, drafterSpecs, cwd);
  // At T = 0 Gumbel and Weighted MinHash are the same greedy decoding (argmax, ties to the lowest id): WMH is
  // measured at T > 0 only when Gumbel is measured too.
  const configs: Config[] = [];
  for (const coupling of couplings) {
    for (const temperature of temperatures) {
      if (temperature === 0 && coupling === 'wmh' && couplings.includes('gumbel')) continue;
      configs.push({ plan: null, coupling, gamma: 1, temperature });
      for (const plan of setup.drafters) for (const gamma of gammas) configs.push({ plan, coupling, gamma, temperature });
    }
  }
  interface Acc { config: Config; runs: RunFigures[]; ratios: number[] }
  const key = (d: string, c: string, g: number | 'auto', t: number) => `${d}\u0000${c}\u0000${g}\u0000${t}`;
  const accs = new Map<string, Acc>();
  for (const c of configs) accs.set(key(c.plan?.spec ?? 'none', c.coupling, c.gamma, c.temperature), { config: c, runs: [], ratios: [] });
  const total = prompts.length * configs.length;
  let done = 0;
  const complete = (p: PromptText, c: Config, seed: number, maxT: number, gamma: number | 'auto' = c.gamma) =>
    setup.engine.complete({
      before: p.before, after: p.after, drafter: c.plan?.requestName ?? 'none', coupling: c.coupling, seed,
      sampling: sampling(c.temperature), gamma, maxTokens: maxT, mode,
    });
  const modelPlans = [...new Map(setup.drafters.filter((p) => p.load).map((p) => [p.load!.name, p])).values()];
  try {
    // Warm-up: the first calls allocate and tune; keep them out of the figures.
    for (const c of configs.filter((x, i) => configs.findIndex((y) => y.plan === x.plan && y.coupling === x.coupling) === i)) {
      await complete(prompts[0], c, 0, 8);
    }
    for (let pi = 0; pi < prompts.length; pi++) {
      const p = prompts[pi];
      // Untimed: the target's and every model drafter's cache take this prompt first (γ = 1 and 2 tokens make the
      // drafter draft once), so no configuration pays for the switch of prompt.
      await complete(p, configs[0], pi, 1);
      for (const m of modelPlans) await complete(p, { ...configs[0], plan: { spec: m.load!.name, requestName: m.load!.name } }, pi, 2, 1);
      // The baseline of each (coupling, T) runs first within its group; the group's order rotates per prompt so
      // that no drafter always runs right after the baseline.
      const order: Config[] = [];
      for (let i = 0; i < configs.length; ) {
        let j = i + 1;
        while (j < configs.length && configs[j].plan !== null) j++;
        const group = configs.slice(i + 1, j);
        const shift = group.length > 0 ? pi % group.length : 0;
        order.push(configs[i], ...group.slice(shift), ...group.slice(0, shift));
        i = j;
      }
      const baseline = new Map<string, number>();
      for (const c of order) {
        const f = figures(await complete(p, c, pi, maxTokens));
        const acc = accs.get(key(c.plan?.spec ?? 'none', c.coupling, c.gamma, c.temperature))!;
        acc.runs.push(f);
        const tps = f.tokens / f.decodeSeconds;
        const bkey = `${c.coupling}\u0000${c.temperature}`;
        if (c.plan === null) {
          baseline.set(bkey, tps);
          acc.ratios.push(1);
        } else if (f.tokens > 0 && (baseline.get(bkey) ?? 0) > 0) {
          acc.ratios.push(tps / baseline.get(bkey)!);
        }
        b.onProgress?.(++done, total);
      }
    }
  } finally {
    await setup.engine.dispose();
  }

  const sumOf = (runs: RunFigures[], f: (x: RunFigures) => number) => runs.reduce((s, x) => s + f(x), 0);
  // The target's seconds per autoregressive call, per (coupling, T), from the baselines.
  const arCall = new Map<string, number>();
  for (const { config: c, runs } of accs.values()) {
    if (c.plan !== null) continue;
    const rounds = sumOf(runs, (x) => x.rounds);
    arCall.set(`${c.coupling}\u0000${c.temperature}`, rounds > 0 ? sumOf(runs, (x) => x.targetDecodeSeconds) / rounds : 0);
  }
  const rows: BenchRow[] = [...accs.values()].map(({ config: c, runs, ratios }) => {
    const sum = (f: (x: RunFigures) => number) => sumOf(runs, f);
    const tokens = sum((x) => x.tokens);
    const rounds = sum((x) => x.rounds);
    const drafted = sum((x) => x.drafted);
    const accepted = sum((x) => x.accepted);
    const drafterCalls = sum((x) => x.drafterCalls);
    const targetSecondsPerCall = rounds > 0 ? sum((x) => x.targetDecodeSeconds) / rounds : 0;
    const drafterSecondsPerCall = drafterCalls > 0 ? sum((x) => x.drafterSeconds) / drafterCalls : 0;
    const ar = arCall.get(`${c.coupling}\u0000${c.temperature}`) || targetSecondsPerCall;
    const alpha = drafted > 0 ? accepted / drafted : 0;
    const costRatio = targetSecondsPerCall > 0 ? drafterSecondsPerCall / targetSecondsPerCall : 0;
    const effectiveGamma = rounds > 0 ? drafted / rounds : 0;
    const isNone = c.plan === null;
    // A drafter may propose fewer than γ tokens (prompt lookup finds no match, the end is near): the prediction uses
    // the drafts actually made per round, capped by the nominal γ.
    const g = typeof c.gamma === 'number' ? Math.min(c.gamma, effectiveGamma) : effectiveGamma;
    const predicted = isNone ? 1 : predictedSpeedup(alpha, g, costRatio);
    const speedup = isNone ? 1 : median(ratios);
    return {
      drafter: c.plan?.spec ?? 'none', coupling: c.coupling, gamma: c.gamma, temperature: c.temperature,
      runs: runs.length, tokens,
      tokensPerSecond: tokens / Math.max(1e-9, sum((x) => x.decodeSeconds)),
      speedup,
      speedupP25: isNone ? 1 : quantile(ratios, 0.25),
      speedupP75: isNone ? 1 : quantile(ratios, 0.75),
      speedupMin: isNone ? 1 : Math.min(...ratios),
      speedupMax: isNone ? 1 : Math.max(...ratios),
      acceptance: alpha,
      acceptedPerCall: rounds > 0 ? accepted / rounds : 0,
      tokensPerTargetCall: rounds > 0 ? tokens / rounds : 0,
      targetCallsPerCompletion: runs.length > 0 ? sum((x) => x.targetCalls) / runs.length : 0,
      roundsPerCompletion: runs.length > 0 ? rounds / runs.length : 0,
      effectiveGamma,
      costRatio,
      verifyCost: ar > 0 ? targetSecondsPerCall / ar : 1,
      targetSecondsPerCall,
      drafterSecondsPerCall,
      predictedSpeedup: predicted,
      efficiency: predicted > 0 ? speedup / predicted : 0,
    };
  });
  const targetDir = setup.targetDir;
  const models: Record<string, string> = { target: targetDir };
  for (const p of modelPlans) models[p.load!.name] = p.load!.dir;
  return {
    ...reportHead('speed', b.argv ?? ['bench'], b.threads ?? 0, models, t0),
    device: setup.engine.info().device,
    target: setup.targetSpec, drafters: drafterSpecs, couplings, gammas, temperatures,
    prompts: prompts.map((p) => p.label), maxTokens, mode, rows,
  };
}

export function formatBench(r: BenchReport): string {
  const lines = [headLines(r).trimEnd()];
  if (r.device) lines.push(describeOutcome(r.device));
  lines.push(`target ${r.target}; ${r.prompts.length} held-out prompts, ≤ ${r.maxTokens} tokens, ${r.mode} mode; ` +
    `${r.rows.reduce((s, x) => s + x.runs, 0)} timed completions in ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['drafter', 'coupling', 'γ', 'T', 'tokens/s', 'speedup', 'IQR', 'accept', 'tok/call', 'calls', 'c', 'verify', 'predicted', 'efficiency'],
    r.rows.map((x) => {
      const none = x.drafter === 'none';
      return [
        x.drafter, x.coupling, x.gamma === 'auto' ? `auto(${x.effectiveGamma.toFixed(1)})` : String(x.gamma), String(x.temperature),
        x.tokensPerSecond.toFixed(1), `${x.speedup.toFixed(2)}×`, none ? '—' : `${x.speedupP25.toFixed(2)}–${x.speedupP75.toFixed(2)}`,
        none ? '—' : `${(100 * x.acceptance).toFixed(1)}%`, x.tokensPerTargetCall.toFixed(2), x.targetCallsPerCompletion.toFixed(1),
        none ? '—' : x.costRatio.toFixed(3), none ? '—' : `${x.verifyCost.toFixed(2)}×`,
        `${x.predictedSpeedup.toFixed(2)}×`, none ? '—' : x.efficiency.toFixed(2),
      ];
    }),
  ));
  lines.push('');
  lines.push('speedup: median over prompts of tokens/s ÷ autoregressive tokens/s on the same prompt (interleaved), IQR its ' +
    'quartiles; tok/call: tokens emitted per target verification call; calls: target calls per completion; c: drafter ' +
    's/call ÷ target s/call; verify: target s/verification call ÷ s/autoregressive call; predicted: ' +
    'Leviathan et al. (1 − α^(γ+1)) / ((1 − α)(γc + 1)) with the drafts made per round as γ; efficiency = speedup ÷ predicted.');
  return `${lines.join('\n')}\n`;
}

const GAMMA_ORDER = ['1', '2', '3', '4', '5', '6', '7', '8', 'auto'];

/** Figure 2: median speedup (IQR bars) against γ per drafter, one panel per (temperature, coupling). */
export function speedFigure(r: BenchReport, note = ''): VegaLiteSpec {
  const values = r.rows.filter((x) => x.drafter !== 'none').map((x) => ({
    drafter: x.drafter, coupling: x.coupling, T: `T = ${x.temperature}`, gamma: String(x.gamma),
    speedup: x.speedup, lo: x.speedupP25, hi: x.speedupP75, predicted: x.predictedSpeedup,
  }));
  // Vega-Lite places facet cells by the groups present: give every (T, coupling) cell at least an empty datum, so
  // that a skipped combination (WMH at T = 0, the same greedy decoding as Gumbel) leaves its cell empty in place.
  const Ts = [...new Set(r.rows.map((x) => `T = ${x.temperature}`))];
  const cs = [...new Set(r.rows.map((x) => x.coupling))];
  const filler: typeof values = [];
  for (const T of Ts) {
    for (const coupling of cs) {
      if (!values.some((v) => v.T === T && v.coupling === coupling)) {
        filler.push({ drafter: values[0]?.drafter ?? 'none', coupling, T, gamma: values[0]?.gamma ?? '1', speedup: NaN, lo: NaN, hi: NaN, predicted: NaN });
      }
    }
  }
  values.push(...filler);
  const gammas = [...new Set(values.map((v) => v.gamma))].sort((a, b) => {
    const ia = GAMMA_ORDER.indexOf(a);
    const ib = GAMMA_ORDER.indexOf(b);
    return (ia < 0 ? Number(a) : ia) - (ib < 0 ? Number(b) : ib);
  });
  const x = { field: 'gamma', type: 'ordinal', sort: gammas, title: 'γ (drafts per round)' };
  const color = { field: 'drafter', type: 'nominal', title: 'drafter' };
  return {
    title: {
      text: 'Speedup over autoregressive decoding of the target (same run, median over prompts)',
      subtitle: [`${r.prompts.length} held-out prompts, ≤ ${r.maxTokens} tokens; bars: interquartile range; dashed: Leviathan's prediction; ` +
        `${r.machine.cpu} × ${r.machine.cores}; commit ${r.commit?.slice(0, 12) ?? 'none'}${r.dirty ? '+' : ''}`, ...(note ? [note] : [])],
    },
    data: { values },
    facet: {
      row: { field: 'T', type: 'nominal', title: null },
      column: { field: 'coupling', type: 'nominal', title: null, sort: [...COUPLING_IDS] },
    },
    spec: {
      width: 220,
      height: 170,
      layer: [
        { mark: { type: 'rule', color: '#999', strokeDash: [2, 2] }, encoding: { y: { datum: 1 } } },
        { mark: { type: 'line', strokeDash: [4, 3], strokeWidth: 1.2, opacity: 0.6 }, encoding: { x, y: { field: 'predicted', type: 'quantitative' }, color } },
        { mark: { type: 'errorbar', ticks: { size: 10 } }, encoding: { x, y: { field: 'lo', type: 'quantitative', title: 'speedup (×)' }, y2: { field: 'hi' }, color } },
        { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'speedup', type: 'quantitative', title: 'speedup (×)' }, color } },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  };
}
