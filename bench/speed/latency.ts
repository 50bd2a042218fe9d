/**
 * `lockstep bench latency` — figure 5: time to the first token and to a full single-line completion (p50 / p95) on
 * held-out prompts, for autoregressive decoding and the drafters, in-process (the hop to the engine process, ~1 ms: bench/ipc-cost.ts, is not
 * included). Timed from the request (FIM prompt building included) to the moment the decode loop commits the first
 * token, and to the end of the line (line mode, the `complete` command's settings otherwise).
 *
 *  - cold: empty KV caches (a new file, or the first request after a long edit);
 *  - warm: the caches already hold this prompt (the same request again: the editor re-asking after a pause).
 */
import { TargetState, TokenSink, generate } from '../../src/engine/decode/decode';
import type { Drafter, DrafterContext } from '../../src/engine/decode/drafters/drafter';
import { drafterKind, drafterModel, parseDrafterSpec } from '../../src/engine/decode/drafters/drafterSpec';
import { ModelDrafter } from '../../src/engine/decode/drafters/model';
import { makeDrafter } from '../../src/engine/decode/drafters/registry';
import { CausalLM } from '../../src/engine/runtime/model';
import { StopChecker } from '../../src/engine/prompt/stops';
import { fimStopTokenIds } from '../../src/engine/prompt/fim';
import { CouplingKind, DEFAULT_COUPLING } from '../../src/engine/decode/couplings/registry';
import { openEngine } from '../../src/cli/engineOpen';
import { ReportHead, headLines, heldoutPrompts, modelDir, modelDrafters, quantile, reportHead, table, type BenchModelOptions } from '../common';
import { VegaLiteSpec } from '../report/plot';
import { ContextAssemblyRow, formatContextAssembly, timeContextAssembly } from './contextAssembly';

export interface LatencyOptions extends BenchModelOptions {
  drafters?: string[];
  coupling?: CouplingKind;
  temperature?: number;
  gamma?: number | 'auto';
  prompts?: number;
  maxTokens?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

export const LATENCY_DEFAULTS = { prompts: 50, temperature: 0.2, maxTokens: 64, gamma: 'auto' as const };

export interface LatencySample {
  drafter: string;
  cache: 'cold' | 'warm';
  prompt: string;
  firstTokenMs: number;
  lineMs: number;
  tokens: number;
}

export interface LatencyRow {
  drafter: string;
  cache: 'cold' | 'warm';
  runs: number;
  firstTokenP50Ms: number;
  firstTokenP95Ms: number;
  lineP50Ms: number;
  lineP95Ms: number;
  tokensP50: number;
  promptTokensP50: number;
}

export interface LatencyReport extends ReportHead {
  target: string;
  drafters: string[];
  coupling: CouplingKind;
  temperature: number;
  gamma: number | 'auto';
  maxTokens: number;
  prompts: string[];
  rows: LatencyRow[];
  samples: LatencySample[];
  /** Cross-file context: ranking and prompt building in a synthetic 50-file workspace (bench/speed/contextAssembly.ts). */
  contextAssembly: ContextAssemblyRow;
}

export async function runLatency(o: LatencyOptions, cwd: string): Promise<LatencyReport> {
  const t0 = performance.now();
  const models = modelDrafters(o, cwd);
  const specs = [...new Set(o.drafters && o.drafters.length > 0 ? o.drafters : ['none', ...models.slice(0, 1), 'prompt-lookup'])];
  const coupling = o.coupling ?? DEFAULT_COUPLING;
  const temperature = o.temperature ?? LATENCY_DEFAULTS.temperature;
  const gamma = o.gamma ?? LATENCY_DEFAULTS.gamma;
  const maxTokens = o.maxTokens ?? LATENCY_DEFAULTS.maxTokens;
  const prompts = heldoutPrompts(o.prompts ?? LATENCY_DEFAULTS.prompts, 5);
  const setup = await openEngine(o, [], cwd);
  const engine = setup.engine;
  const vocab = engine.tokenizer.vocabSize;
  const stopIds = new Set<number>([...engine.target.config.eosTokenIds, ...fimStopTokenIds(engine.tokenizer, engine.fim)]);
  const loaded = new Map<string, { model: CausalLM; drafter: ModelDrafter; dir: string }>();
  const drafters: { spec: string; drafter: Drafter }[] = [];
  const samples: LatencySample[] = [];
  const promptTokens: number[] = [];
  let contextAssembly: ContextAssemblyRow | undefined;
  try {
    contextAssembly = timeContextAssembly(engine.tokenizer, engine.fim, engine.fitContext({ maxTokens }).promptTokens);
    // Each spec's drafter made by its kind (drafters/registry.ts), a model loaded once for every kind drafting with it.
    const ctx: DrafterContext = {
      candidates: () => drafters.filter((d) => drafterKind(parseDrafterSpec(d.spec)).candidate).map((d) => d.drafter),
      costs: () => engine.target.callCosts,
      model: (name) => loaded.get(name)!.drafter,
    };
    for (const spec of specs) {
      const parsed = parseDrafterSpec(spec);
      const name = drafterModel(parsed);
      if (name !== undefined && !loaded.has(name)) {
        const dir = modelDir(name, o, cwd);
        const model = await CausalLM.load(dir, { threads: o.threads, minTokensPerCall: 1 });
        loaded.set(name, { model, drafter: new ModelDrafter(name, model), dir });
      }
      drafters.push({ spec, drafter: makeDrafter(parsed, ctx) });
    }
    const state = new TargetState(engine.target);
    const sampling = { temperature, topP: 1, topK: 0 };
    const once = async (d: Drafter, before: string, after: string, seed: number, cold: boolean) => {
      if (cold) {
        state.reset();
        d.reset();
      }
      const start = performance.now();
      const ids = engine.promptFor({ before, after, maxTokens });
      const checker = new StopChecker(engine.tokenizer, { maxTokens, mode: 'line', stopTokenIds: stopIds, before, after });
      let first = 0;
      const sink: TokenSink = {
        push(t: number) {
          if (first === 0) first = performance.now();
          return checker.push(t);
        },
      };
      const stats = await generate(state, d, { prompt: ids, coupling, sampling, seed, gamma, maxTokens, sink, vocabLimit: vocab });
      const end = performance.now();
      return { firstTokenMs: (first || end) - start, lineMs: end - start, tokens: stats.tokens.length, promptTokens: ids.length };
    };
    // Warm-up (untimed).
    for (const d of drafters) await once(d.drafter, prompts[0].before, prompts[0].after, 0, true);
    const total = prompts.length * drafters.length;
    let done = 0;
    for (let pi = 0; pi < prompts.length; pi++) {
      const p = prompts[pi];
      for (let k = 0; k < drafters.length; k++) {
        const d = drafters[(k + pi) % drafters.length];
        for (const cache of ['cold', 'warm'] as const) {
          const r = await once(d.drafter, p.before, p.after, pi, cache === 'cold');
          samples.push({ drafter: d.spec, cache, prompt: p.label, firstTokenMs: r.firstTokenMs, lineMs: r.lineMs, tokens: r.tokens });
          if (cache === 'cold' && k === 0) promptTokens.push(r.promptTokens);
        }
        o.onProgress?.(++done, total);
      }
    }
  } finally {
    for (const m of loaded.values()) await m.model.dispose();
    await engine.dispose();
  }
  const rows: LatencyRow[] = [];
  for (const d of specs) {
    for (const cache of ['cold', 'warm'] as const) {
      const s = samples.filter((x) => x.drafter === d && x.cache === cache);
      rows.push({
        drafter: d, cache, runs: s.length,
        firstTokenP50Ms: quantile(s.map((x) => x.firstTokenMs), 0.5), firstTokenP95Ms: quantile(s.map((x) => x.firstTokenMs), 0.95),
        lineP50Ms: quantile(s.map((x) => x.lineMs), 0.5), lineP95Ms: quantile(s.map((x) => x.lineMs), 0.95),
        tokensP50: quantile(s.map((x) => x.tokens), 0.5), promptTokensP50: quantile(promptTokens, 0.5),
      });
    }
  }
  const modelDirs: Record<string, string> = { target: setup.targetDir };
  for (const [name, m] of loaded) modelDirs[name] = m.dir;
  return {
    ...reportHead('latency', o.argv ?? ['bench', 'latency'], o.threads ?? 0, modelDirs, t0),
    target: setup.targetSpec, drafters: specs, coupling, temperature, gamma, maxTokens, prompts: prompts.map((p) => p.label), rows, samples,
    contextAssembly: contextAssembly!,
  };
}

export function formatLatency(r: LatencyReport): string {
  const lines = [headLines(r).trimEnd()];
  lines.push(`target ${r.target}; ${r.prompts.length} held-out prompts (median ${r.rows[0]?.promptTokensP50 ?? 0} prompt tokens), ` +
    `line mode, ${r.coupling}, T=${r.temperature}, γ=${r.gamma}; in-process; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['drafter', 'cache', 'runs', 'first token p50', 'p95', 'full line p50', 'p95', 'tokens p50'],
    r.rows.map((x) => [x.drafter, x.cache, String(x.runs), `${x.firstTokenP50Ms.toFixed(1)} ms`, `${x.firstTokenP95Ms.toFixed(1)} ms`,
      `${x.lineP50Ms.toFixed(1)} ms`, `${x.lineP95Ms.toFixed(1)} ms`, String(x.tokensP50)]),
  ));
  lines.push('');
  lines.push('cold: empty KV caches (prefill of the whole prompt); warm: the caches already hold the prompt.');
  if (r.contextAssembly) lines.push('', ...formatContextAssembly(r.contextAssembly));
  return `${lines.join('\n')}\n`;
}

/** Figure 5: per drafter, every run (dots), p50 (bar) and p95 (tick), for the first token and the full line. */
export function latencyFigure(r: LatencyReport, note = ''): VegaLiteSpec {
  const metrics = ['first token', 'full line'];
  const values = [
    ...r.samples.flatMap((s) => [
      { kind: 'run', drafter: s.drafter, cache: s.cache, metric: metrics[0], ms: s.firstTokenMs },
      { kind: 'run', drafter: s.drafter, cache: s.cache, metric: metrics[1], ms: s.lineMs },
    ]),
    ...r.rows.flatMap((x) => [
      { kind: 'stat', drafter: x.drafter, cache: x.cache, metric: metrics[0], p50: x.firstTokenP50Ms, p95: x.firstTokenP95Ms },
      { kind: 'stat', drafter: x.drafter, cache: x.cache, metric: metrics[1], p50: x.lineP50Ms, p95: x.lineP95Ms },
    ]),
  ];
  const y = { field: 'drafter', type: 'nominal', title: null, sort: r.drafters };
  const color = { field: 'drafter', type: 'nominal', legend: null };
  return {
    title: {
      text: 'Completion latency on CPU: first token and full single-line completion',
      subtitle: [`target ${r.target}; ${r.prompts.length} held-out prompts; bar: p50, black tick: p95, dots: runs; ${r.machine.cpu} × ${r.machine.cores}; ` +
        `commit ${r.commit?.slice(0, 12) ?? 'none'}${r.dirty ? '+' : ''}`, ...(note ? [note] : [])],
    },
    data: { values },
    facet: {
      row: { field: 'cache', type: 'nominal', title: null, sort: ['cold', 'warm'] },
      column: { field: 'metric', type: 'nominal', title: null, sort: metrics },
    },
    spec: {
      width: 300,
      height: { step: 26 },
      layer: [
        { transform: [{ filter: "datum.kind === 'stat'" }], mark: { type: 'bar', opacity: 0.5 }, encoding: { y, x: { field: 'p50', type: 'quantitative', title: 'milliseconds' }, color } },
        { transform: [{ filter: "datum.kind === 'stat'" }], mark: { type: 'tick', color: 'black', thickness: 2 }, encoding: { y, x: { field: 'p95', type: 'quantitative' } } },
        { transform: [{ filter: "datum.kind === 'run'" }], mark: { type: 'point', size: 12, opacity: 0.35, filled: true }, encoding: { y, x: { field: 'ms', type: 'quantitative' }, color } },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  };
}
