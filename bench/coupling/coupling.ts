/**
 * `lockstep bench coupling` — figure 1, the seed repository's experiment on our models: along completions sampled
 * from the target (held-out code, T = 1 and 0.7), at each position the drafter's and the target's distributions for
 * the same prefix, their total variation distance, and the agreement Pr[a = b] of the two drafter-invariant
 * couplings, measured with the engine's own samplers (src/engine/decode/couplings/) over many shared-randomness trials
 * and compared with the closed forms (couplingTheory.ts): Gumbel Σ_i 1/Σ_j max(p_j/p_i, q_j/q_i), Weighted MinHash's exact rate,
 * 1 − TV (the optimal coupling = standard speculative sampling's acceptance) and (1 − TV)/(1 + TV) (WMH's guarantee).
 *
 * Trials: the position (and both logits rows) stay fixed and the seed varies, seed = trials·t + trial for the t-th
 * position of a completion (the seed repository's scheme), so trial k of the drafter and of the target share all
 * their randomness and different trials share none.
 */
import { TargetState, TokenSink, generate } from '../../src/engine/decode/decode';
import { NoDrafter } from '../../src/engine/decode/drafters/none';
import { drafterKind, parseDrafterSpec } from '../../src/engine/decode/drafters/drafterSpec';
import { GumbelSampler } from '../../src/engine/decode/couplings/gumbel';
import { WeightedMinHashSampler } from '../../src/engine/decode/couplings/wmh';
import { makeSampler } from '../../src/engine/decode/couplings/registry';
import { gumbelAgreement, totalVariation, wmhAgreement } from '../../src/engine/decode/couplingTheory';
import { fimStopTokenIds } from '../../src/engine/prompt/fim';
import { CausalLM } from '../../src/engine/runtime/model';
import { Distribution } from '../../src/engine/decode/sampling';
import { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import { SamplingSettings, TokenSampler } from '../../src/engine/decode/types';
import { openEngine } from '../../src/cli/engineOpen';
import { BenchIo, ReportHead, headLines, heldoutPrompts, mean, modelDir, modelDrafters, pct, reportHead, table, type BenchModelOptions } from '../common';
import { VegaLiteSpec } from '../report/plot';

export interface CouplingOptions extends BenchModelOptions {
  /** Model drafters to compare with the target (default: the target's recommended drafter). */
  drafters?: string[];
  temperatures?: number[];
  /** Completions (prompts) per temperature. */
  prompts?: number;
  /** Positions per completion. */
  positions?: number;
  /** Shared-randomness trials per position. */
  trials?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

export const COUPLING_DEFAULTS = { temperatures: [1, 0.7], prompts: 3, positions: 32, trials: 20_000 };

export interface CouplingPoint {
  drafter: string;
  prompt: string;
  temperature: number;
  /** Seed the target sampled the completion with. */
  completionSeed: number;
  /** Index in the completion (0-based) and absolute token position. */
  t: number;
  position: number;
  /** The token the target sampled there, and its text. */
  token: number;
  text: string;
  tv: number;
  /** 1 − TV: the optimal coupling (standard speculative sampling's acceptance). */
  optimal: number;
  /** (1 − TV)/(1 + TV): Weighted MinHash's worst-case guarantee. */
  wmhBound: number;
  gumbelTheory: number;
  wmhTheory: number;
  gumbelMeasured: number;
  wmhMeasured: number;
  /** (measured − closed form) / binomial standard error of the closed form. */
  gumbelZ: number;
  wmhZ: number;
}

export interface CouplingSummary {
  drafter: string;
  temperature: number;
  positions: number;
  meanTv: number;
  meanOptimal: number;
  meanWmhBound: number;
  meanGumbelTheory: number;
  meanGumbelMeasured: number;
  meanWmhTheory: number;
  meanWmhMeasured: number;
  /** Share of positions where the measured Gumbel agreement ≥ the measured WMH agreement. */
  gumbelAtLeastWmh: number;
  /** Same for the closed forms (the paper: always). */
  gumbelAtLeastWmhTheory: number;
  /** Largest |z| of measured against closed form, over both couplings. */
  maxAbsZ: number;
  /** Share of (position, coupling) pairs with |z| > 3 (about 0.3 % expected by chance). */
  beyond3Sigma: number;
}

export interface CouplingReport extends ReportHead {
  target: string;
  drafters: string[];
  temperatures: number[];
  trials: number;
  positionsPerCompletion: number;
  completions: { drafter: string; prompt: string; temperature: number; seed: number; text: string }[];
  points: CouplingPoint[];
  rows: CouplingSummary[];
}

/** Collects the target's tokens; stops at its stop tokens. */
class Collect implements TokenSink {
  constructor(private readonly stops: Set<number>) {}
  push(token: number): boolean {
    return this.stops.has(token);
  }
}

/** A sampler whose seed can be changed in place (no allocation per trial); checked against fresh samplers. */
type Reseedable = TokenSampler & { seed: number };

function reseedable(kind: 'gumbel' | 'wmh', s: SamplingSettings, vocab: number): Reseedable {
  const sampler = makeSampler(kind, s, 0, vocab) as GumbelSampler | WeightedMinHashSampler;
  return sampler as unknown as Reseedable;
}

/** Logits rows that predict tokens[from], …, tokens[to − 1] (each given all tokens before it), copied. */
async function rowsFor(model: CausalLM, tokens: number[], from: number, to: number): Promise<Float32Array[]> {
  model.reset();
  const chunk = 256;
  for (let p = 0; p < from - 1; p += chunk) await model.forward(tokens.slice(p, Math.min(from - 1, p + chunk)));
  const rows = await model.forward(tokens.slice(from - 1, to - 1));
  const out: Float32Array[] = [];
  for (let i = 0; i < rows.count; i++) out.push(rows.row(i).slice());
  model.reset();
  return out;
}

export async function runCoupling(o: CouplingOptions, cwd: string): Promise<CouplingReport> {
  const t0 = performance.now();
  // At T = 0 both couplings are the argmax and always agree: nothing to measure there.
  const asked = o.temperatures && o.temperatures.length > 0 ? [...new Set(o.temperatures)] : COUPLING_DEFAULTS.temperatures;
  const temperatures = asked.filter((t) => t > 0);
  if (temperatures.length === 0) throw new Error('bench coupling: temperatures must be > 0 (at T = 0 both couplings are the argmax)');
  const promptCount = o.prompts ?? COUPLING_DEFAULTS.prompts;
  const positions = o.positions ?? COUPLING_DEFAULTS.positions;
  const trials = o.trials ?? COUPLING_DEFAULTS.trials;
  let drafterSpecs = o.drafters && o.drafters.length > 0 ? [...new Set(o.drafters)] : modelDrafters(o, cwd).slice(0, 1);
  drafterSpecs = drafterSpecs.filter((d) => drafterKind(parseDrafterSpec(d)).fallback); // a model drafter alone
  if (drafterSpecs.length === 0) throw new Error('bench coupling needs a model drafter (--drafter <catalog id or directory>)');

  const setup = await openEngine(o, [], cwd);
  const engine = setup.engine;
  const target = engine.target;
  const vocab = engine.tokenizer.vocabSize;
  const stops = new Set<number>([...target.config.eosTokenIds, ...fimStopTokenIds(engine.tokenizer, engine.fim)]);
  const drafters: { spec: string; dir: string; model: CausalLM }[] = [];
  const points: CouplingPoint[] = [];
  const completions: CouplingReport['completions'] = [];
  try {
    for (const spec of drafterSpecs) {
      const dir = modelDir(spec, o, cwd);
      if (TokenizerWrapper.fromDir(dir).vocabularyFingerprint() !== engine.tokenizer.vocabularyFingerprint()) {
        throw new Error(`drafter '${spec}' does not share the target's vocabulary`);
      }
      drafters.push({ spec, dir, model: await CausalLM.load(dir, { threads: o.threads, minTokensPerCall: 1 }) });
    }
    // Held-out code continuations: the text before a cursor, nothing after it, so the target writes on for long
    // enough; a completion that stops early is resampled with the next seed, then the next prompt is tried.
    const candidates = heldoutPrompts(Math.max(40, promptCount * 4), 7);
    const total = temperatures.length * promptCount * positions;
    let done = 0;
    for (const T of temperatures) {
      const settings: SamplingSettings = { temperature: T, topK: 0, topP: 1 };
      const dist = new Distribution(vocab);
      const p = new Float64Array(vocab);
      const q = new Float64Array(vocab);
      let used = 0;
      for (let ci = 0; ci < candidates.length && used < promptCount; ci++) {
        const prompt = candidates[ci];
        const ids = engine.promptFor({ before: prompt.before, after: '', maxTokens: positions });
        let completion: number[] | undefined;
        let seed = 0;
        for (; seed < 4 && !completion; seed++) {
          target.reset();
          const stats = await generate(new TargetState(target), new NoDrafter(), {
            prompt: ids, coupling: 'gumbel', sampling: settings, seed, gamma: 0, maxTokens: positions, sink: new Collect(stops), vocabLimit: vocab,
          });
          if (stats.tokens.length >= positions && !stats.tokens.some((x) => stops.has(x))) completion = stats.tokens;
        }
        if (!completion) continue;
        seed--;
        used++;
        const all = [...ids, ...completion];
        const n = ids.length;
        const targetRows = await rowsFor(target, all, n, n + positions);
        const text = engine.tokenizer.decode(completion);
        for (const d of drafters) completions.push({ drafter: d.spec, prompt: prompt.label, temperature: T, seed, text });
        const drafterRows = [];
        for (const d of drafters) drafterRows.push(await rowsFor(d.model, all, n, n + positions));

        for (let t = 0; t < positions; t++) {
          const position = n + t;
          const row = targetRows[t];
          dist.fromLogits(row, settings);
          dist.fullProbs(p);
          const agree = new Map<string, { g: number; w: number }>();
          // The target's samples once per coupling; every drafter is compared against the same trials.
          const targetSamples: Record<'gumbel' | 'wmh', Int32Array> = { gumbel: new Int32Array(trials), wmh: new Int32Array(trials) };
          for (const kind of ['gumbel', 'wmh'] as const) {
            const s = reseedable(kind, settings, vocab);
            const out = targetSamples[kind];
            for (let k = 0; k < trials; k++) {
              s.seed = trials * t + k;
              out[k] = s.sample(row, position);
            }
            // The in-place reseeding must give exactly what a fresh sampler gives.
            for (let k = 0; k < Math.min(trials, 4); k++) {
              const fresh = makeSampler(kind, settings, trials * t + k, vocab).sample(row, position);
              if (fresh !== out[k]) throw new Error(`bench coupling: reseeded ${kind} sampler disagrees with a fresh one`);
            }
          }
          for (let di = 0; di < drafters.length; di++) {
            const drow = drafterRows[di][t];
            const counts = { g: 0, w: 0 };
            for (const kind of ['gumbel', 'wmh'] as const) {
              const s = reseedable(kind, settings, vocab);
              const ts = targetSamples[kind];
              let same = 0;
              for (let k = 0; k < trials; k++) {
                s.seed = trials * t + k;
                if (s.sample(drow, position) === ts[k]) same++;
              }
              if (kind === 'gumbel') counts.g = same;
              else counts.w = same;
            }
            agree.set(drafters[di].spec, counts);
            dist.fromLogits(drow, settings);
            dist.fullProbs(q);
            const tv = totalVariation(p, q, vocab);
            const gT = gumbelAgreement(p, q, vocab);
            const wT = wmhAgreement(p, q, vocab);
            const gM = counts.g / trials;
            const wM = counts.w / trials;
            const z = (m: number, th: number) => {
              const se = Math.sqrt(Math.max(th * (1 - th), 1 / trials) / trials);
              return (m - th) / se;
            };
            points.push({
              drafter: drafters[di].spec, prompt: prompt.label, temperature: T, completionSeed: seed, t, position,
              token: completion[t], text: engine.tokenizer.decode([completion[t]]),
              tv, optimal: 1 - tv, wmhBound: (1 - tv) / (1 + tv), gumbelTheory: gT, wmhTheory: wT,
              gumbelMeasured: gM, wmhMeasured: wM, gumbelZ: z(gM, gT), wmhZ: z(wM, wT),
            });
          }
          o.onProgress?.(++done, total);
        }
      }
      if (used < promptCount) {
        throw new Error(`bench coupling: only ${used} of ${promptCount} held-out prompts gave a completion of ${positions} tokens at T = ${T}`);
      }
    }
  } finally {
    for (const d of drafters) await d.model.dispose();
    await engine.dispose();
  }
  const rows: CouplingSummary[] = [];
  for (const d of drafters) {
    for (const T of temperatures) {
      const ps = points.filter((x) => x.drafter === d.spec && x.temperature === T);
      const zs = ps.flatMap((x) => [x.gumbelZ, x.wmhZ]).map(Math.abs);
      rows.push({
        drafter: d.spec, temperature: T, positions: ps.length,
        meanTv: mean(ps.map((x) => x.tv)), meanOptimal: mean(ps.map((x) => x.optimal)), meanWmhBound: mean(ps.map((x) => x.wmhBound)),
        meanGumbelTheory: mean(ps.map((x) => x.gumbelTheory)), meanGumbelMeasured: mean(ps.map((x) => x.gumbelMeasured)),
        meanWmhTheory: mean(ps.map((x) => x.wmhTheory)), meanWmhMeasured: mean(ps.map((x) => x.wmhMeasured)),
        gumbelAtLeastWmh: mean(ps.map((x) => (x.gumbelMeasured >= x.wmhMeasured ? 1 : 0))),
        gumbelAtLeastWmhTheory: mean(ps.map((x) => (x.gumbelTheory >= x.wmhTheory - 1e-12 ? 1 : 0))),
        maxAbsZ: zs.length > 0 ? Math.max(...zs) : 0,
        beyond3Sigma: mean(zs.map((z) => (z > 3 ? 1 : 0))),
      });
    }
  }
  const models: Record<string, string> = { target: setup.targetDir };
  for (const d of drafters) models[d.spec] = d.dir;
  return {
    ...reportHead('coupling', o.argv ?? ['bench', 'coupling'], o.threads ?? 0, models, t0),
    target: setup.targetSpec, drafters: drafters.map((d) => d.spec), temperatures, trials, positionsPerCompletion: positions,
    completions, points, rows,
  };
}

export function formatCoupling(r: CouplingReport): string {
  const lines = [headLines(r).trimEnd()];
  const prompts = [...new Set(r.completions.map((c) => c.prompt))];
  lines.push(`target ${r.target}; ${prompts.length} held-out prompts, ${r.positionsPerCompletion} positions per completion, ` +
    `${r.trials} shared-randomness trials per position; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['drafter', 'T', 'positions', 'TV', '1−TV', 'Gumbel', '(closed)', 'WMH', '(closed)', '(1−TV)/(1+TV)', 'G ≥ W', 'max|z|', '|z|>3'],
    r.rows.map((x) => [
      x.drafter, String(x.temperature), String(x.positions), x.meanTv.toFixed(3), x.meanOptimal.toFixed(3),
      x.meanGumbelMeasured.toFixed(3), x.meanGumbelTheory.toFixed(3), x.meanWmhMeasured.toFixed(3), x.meanWmhTheory.toFixed(3),
      x.meanWmhBound.toFixed(3), pct(x.gumbelAtLeastWmh, 0), x.maxAbsZ.toFixed(1), pct(x.beyond3Sigma),
    ]),
  ));
  lines.push('');
  lines.push('Means over positions of: TV distance between drafter and target; Pr[a = b] measured with the engine\'s samplers ' +
    '(Gumbel, WMH) and their closed forms; G ≥ W: share of positions where measured Gumbel ≥ measured WMH; z: (measured − ' +
    'closed form) / binomial standard error.');
  return `${lines.join('\n')}\n`;
}

const SERIES = ['Gumbel (measured)', 'Gumbel (closed form)', 'WMH (measured)', 'WMH (closed form)', '1 − TV (optimal)', '(1 − TV)/(1 + TV)'];
const SERIES_COLORS = ['#1f77b4', '#1f77b4', '#d62728', '#d62728', '#2ca02c', '#7f7f7f'];
const SERIES_DASH = [[1, 0], [5, 3], [1, 0], [5, 3], [1, 0], [2, 2]];

/** Figure 1 for one (drafter, prompt): Pr[a = b] per position, one panel per temperature. */
export function couplingFigure(r: CouplingReport, drafter: string, prompt: string, note = ''): VegaLiteSpec {
  const ps = r.points.filter((x) => x.drafter === drafter && x.prompt === prompt);
  const values = ps.flatMap((x) => {
    const T = `T = ${x.temperature}`;
    const v = [x.gumbelMeasured, x.gumbelTheory, x.wmhMeasured, x.wmhTheory, x.optimal, x.wmhBound];
    return SERIES.map((series, i) => ({ t: x.t, T, series, value: v[i], measured: series.endsWith('(measured)') }));
  });
  return {
    title: {
      text: `Coupling agreement Pr[a = b] along a completion of ${r.target} — drafter ${drafter}`,
      subtitle: [`held-out prompt ${prompt} (the text before it; seed ${ps[0]?.completionSeed ?? 0}); ${r.trials} shared-randomness trials per position`,
        `${r.machine.cpu}; commit ${r.commit?.slice(0, 12) ?? 'none'}${r.dirty ? '+' : ''}`, ...(note ? [note] : [])],
    },
    data: { values },
    facet: { column: { field: 'T', type: 'nominal', title: null, sort: 'descending' } },
    spec: {
      width: 380,
      height: 240,
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.6 },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'position in the completion', axis: { tickMinStep: 1, format: 'd' }, scale: { domain: [0, Math.max(1, r.positionsPerCompletion - 1)], nice: false } },
            y: { field: 'value', type: 'quantitative', title: 'Pr[a = b]', scale: { domain: [0, 1] } },
            color: { field: 'series', type: 'nominal', title: null, scale: { domain: SERIES, range: SERIES_COLORS }, legend: { orient: 'bottom', columns: 3 } },
            strokeDash: { field: 'series', type: 'nominal', scale: { domain: SERIES, range: SERIES_DASH }, legend: { orient: 'bottom', columns: 3 } },
          },
        },
        {
          transform: [{ filter: 'datum.measured' }],
          mark: { type: 'point', filled: true, size: 22 },
          encoding: {
            x: { field: 't', type: 'quantitative' },
            y: { field: 'value', type: 'quantitative' },
            color: { field: 'series', type: 'nominal', scale: { domain: SERIES, range: SERIES_COLORS } },
          },
        },
      ],
    },
  };
}

/** Summary: measured Pr[a = b] against TV at every position, with 1 − TV and (1 − TV)/(1 + TV). */
export function couplingSummaryFigure(r: CouplingReport, note = ''): VegaLiteSpec {
  const values = r.points.flatMap((x) => [
    { tv: x.tv, value: x.gumbelMeasured, coupling: 'Gumbel (measured)', T: `T = ${x.temperature}`, drafter: x.drafter },
    { tv: x.tv, value: x.wmhMeasured, coupling: 'WMH (measured)', T: `T = ${x.temperature}`, drafter: x.drafter },
  ]);
  const maxTv = Math.min(1, Math.max(0.05, ...r.points.map((x) => x.tv)) * 1.05);
  return {
    title: {
      text: 'Coupling agreement against total variation, every position',
      subtitle: [`target ${r.target}; drafter${r.drafters.length > 1 ? 's' : ''} ${r.drafters.join(', ')}; ${r.trials} trials per position`,
        'green: 1 − TV (optimal coupling); grey dashed: (1 − TV)/(1 + TV)', ...(note ? [note] : [])],
    },
    width: 460,
    height: 320,
    layer: [
      {
        data: { sequence: { start: 0, stop: maxTv + 1e-9, step: maxTv / 100, as: 'tv' } },
        transform: [{ calculate: '1 - datum.tv', as: 'opt' }],
        mark: { type: 'line', color: '#2ca02c' },
        encoding: { x: { field: 'tv', type: 'quantitative' }, y: { field: 'opt', type: 'quantitative' } },
      },
      {
        data: { sequence: { start: 0, stop: maxTv + 1e-9, step: maxTv / 100, as: 'tv' } },
        transform: [{ calculate: '(1 - datum.tv) / (1 + datum.tv)', as: 'bound' }],
        mark: { type: 'line', color: '#7f7f7f', strokeDash: [2, 2] },
        encoding: { x: { field: 'tv', type: 'quantitative' }, y: { field: 'bound', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 26, opacity: 0.75 },
        encoding: {
          x: { field: 'tv', type: 'quantitative', title: 'TV(drafter, target)', scale: { domain: [0, maxTv] } },
          y: { field: 'value', type: 'quantitative', title: 'Pr[a = b]', scale: { domain: [0, 1] } },
          color: { field: 'coupling', type: 'nominal', title: null, scale: { domain: ['Gumbel (measured)', 'WMH (measured)'], range: ['#1f77b4', '#d62728'] } },
          shape: { field: 'T', type: 'nominal', title: null },
        },
      },
    ],
  };
}
