/**
 * `lockstep bench invariance` — figure 4: drafter invariance at scale. Runs exactly what `lockstep verify` runs
 * (runVerify: for each case (prompt, seed), coupling and temperature the reference is the text of the autoregressive
 * "none" drafter; every drafter × γ must give the same bytes) over ≥ 2 000 comparisons — drafters × couplings × γ ×
 * T × seeds — and prints the equivalent `lockstep verify` command line, with every option spelled out.
 */
import type { ModelOptions } from '../../src/cli/engineOpen';
import { CompletionMode } from '../../src/engine/process/engine';
import { CouplingKind, INVARIANT_COUPLINGS } from '../../src/engine/decode/couplings/registry';
import { drafterModel, formatDrafterSpec, parseDrafterSpec } from '../../src/engine/decode/drafters/drafterSpec';
import { DecodeGrid, VerifyMismatch, VerifyOptions, VerifyRow, runVerify } from '../../src/cli/verifyGrid';
import { ReportHead, headLines, modelDir, modelDrafters, pct, reportHead, shellQuote, table } from '../common';
import { VegaLiteSpec } from '../report/plot';

export interface InvarianceOptions extends ModelOptions, DecodeGrid {
  /** (prompt, seed) cases; default: enough for minComparisons. */
  cases?: number;
  minComparisons?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

export const INVARIANCE_DEFAULTS = {
  couplings: [...INVARIANT_COUPLINGS],
  gammas: [1, 3, 6, 'auto'] as (number | 'auto')[],
  temperatures: [0, 0.2, 0.7, 1],
  maxTokens: 32,
  mode: 'free' as CompletionMode,
  minComparisons: 2000,
};

export interface InvarianceCell {
  drafter: string;
  gamma: number | 'auto';
  coupling: CouplingKind;
  temperature: number;
  comparisons: number;
  identical: number;
}

export interface InvarianceReport extends ReportHead {
  /** The `lockstep verify` command that runs the same comparisons. */
  verifyCommand: string;
  target: string;
  drafters: string[];
  couplings: CouplingKind[];
  gammas: (number | 'auto')[];
  temperatures: number[];
  caseCount: number;
  maxTokens: number;
  mode: CompletionMode;
  comparisons: number;
  identical: number;
  differing: number;
  referenceRuns: number;
  emptyReferences: number;
  verdict: string;
  /** Per drafter × γ (over every case, coupling and temperature), as `lockstep verify` reports them. */
  rows: VerifyRow[];
  cells: InvarianceCell[];
  mismatches: VerifyMismatch[];
}

/** The default drafters: every model drafter, prompt lookup, and lookup + the recommended model. */
export function defaultInvarianceDrafters(o: { catalog?: string; target?: string }, cwd: string): string[] {
  const models = modelDrafters(o, cwd);
  return [...models, 'prompt-lookup', ...(models.length > 0 ? [formatDrafterSpec({ kind: 'lookup-then-model', model: models[0] })] : [])];
}

/** The `lockstep verify` argv (after `lockstep`) for these options, every setting explicit. */
export function verifyArgv(v: Required<Pick<VerifyOptions, 'drafters' | 'couplings' | 'gammas' | 'temperatures' | 'cases' | 'maxTokens' | 'mode'>> & VerifyOptions): string[] {
  const a = ['verify'];
  if (v.catalog !== undefined) a.push('--catalog', v.catalog);
  if (v.target !== undefined) a.push('--target', v.target);
  a.push('--drafter', v.drafters.join(','));
  a.push('--coupling', v.couplings.join(','));
  a.push('--gamma', v.gammas.join(','));
  a.push('--temperature', v.temperatures.join(','));
  a.push('--cases', String(v.cases), '--max-tokens', String(v.maxTokens), '--mode', v.mode);
  if (v.topP !== undefined && v.topP !== 1) a.push('--top-p', String(v.topP));
  if (v.topK !== undefined && v.topK !== 0) a.push('--top-k', String(v.topK));
  if (v.threads !== undefined) a.push('--threads', String(v.threads));
  if (v.fim !== undefined) a.push('--fim', v.fim);
  return a;
}

export async function runInvariance(o: InvarianceOptions, cwd: string): Promise<InvarianceReport> {
  const t0 = performance.now();
  const drafters = [...new Set((o.drafters && o.drafters.length > 0 ? o.drafters : defaultInvarianceDrafters(o, cwd)).filter((d) => d !== 'none'))];
  const couplings = o.couplings && o.couplings.length > 0 ? [...new Set(o.couplings)] : INVARIANCE_DEFAULTS.couplings;
  const gammas = o.gammas && o.gammas.length > 0 ? [...new Set(o.gammas)] : INVARIANCE_DEFAULTS.gammas;
  const temperatures = o.temperatures && o.temperatures.length > 0 ? [...new Set(o.temperatures)] : INVARIANCE_DEFAULTS.temperatures;
  const perCase = drafters.length * couplings.length * gammas.length * temperatures.length;
  const minComparisons = o.minComparisons ?? INVARIANCE_DEFAULTS.minComparisons;
  const cases = o.cases ?? Math.max(1, Math.ceil(minComparisons / Math.max(1, perCase)));
  const maxTokens = o.maxTokens ?? INVARIANCE_DEFAULTS.maxTokens;
  const mode = o.mode ?? INVARIANCE_DEFAULTS.mode;
  const v = {
    catalog: o.catalog, target: o.target, threads: o.threads, fim: o.fim, device: o.device, drafters, couplings, gammas, temperatures,
    topP: o.topP, topK: o.topK, maxTokens, mode, cases,
  };
  const argv = verifyArgv(v);
  const r = await runVerify({ ...v, onProgress: o.onProgress }, cwd);
  const cells: InvarianceCell[] = [];
  for (const drafter of r.drafters) {
    for (const gamma of r.gammas) {
      for (const coupling of r.couplings) {
        for (const temperature of r.temperatures) {
          const bad = r.mismatches.filter((m) => m.drafter === drafter && m.gamma === gamma && m.coupling === coupling && m.temperature === temperature).length;
          cells.push({ drafter, gamma, coupling, temperature, comparisons: r.caseCount, identical: r.caseCount - bad });
        }
      }
    }
  }
  const models: Record<string, string> = { target: modelDir(o.target ?? 'lockstep-target', o, cwd) };
  for (const d of drafters) {
    const m = drafterModel(parseDrafterSpec(d));
    if (m !== undefined) models[m] = modelDir(m, o, cwd);
  }
  return {
    ...reportHead('invariance', o.argv ?? ['bench', 'invariance'], o.threads ?? 0, models, t0),
    verifyCommand: ['npx', 'lockstep', ...argv].map(shellQuote).join(' '),
    target: r.target, drafters: r.drafters, couplings: r.couplings, gammas: r.gammas, temperatures: r.temperatures,
    caseCount: r.caseCount, maxTokens: r.maxTokens, mode: r.mode, comparisons: r.cases, identical: r.identical,
    differing: r.cases - r.identical, referenceRuns: r.referenceRuns, emptyReferences: r.emptyReferences, verdict: r.verdict,
    rows: r.rows, cells, mismatches: r.mismatches,
  };
}

export function formatInvariance(r: InvarianceReport): string {
  const lines = [headLines(r).trimEnd()];
  lines.push(`target ${r.target}; ${r.caseCount} cases (prompt, seed) × ${r.couplings.length} couplings × ${r.temperatures.length} temperatures × ` +
    `${r.drafters.length} drafters × ${r.gammas.length} γ = ${r.comparisons} comparisons; ≤ ${r.maxTokens} tokens, ${r.mode} mode; ` +
    `${r.referenceRuns} reference runs${r.emptyReferences > 0 ? ` (${r.emptyReferences} empty)` : ''}; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['drafter', 'γ', 'identical', 'acceptance', 'tokens/s'],
    r.rows.map((x) => [x.drafter, String(x.gamma), `${x.identical}/${x.comparisons}`, x.drafted > 0 ? pct(x.acceptance) : '—', x.tokensPerSecond.toFixed(1)]),
  ));
  lines.push('');
  lines.push(`${r.identical}/${r.comparisons} byte-identical to the no-drafter completion; ${r.differing} differ (goal: 0)`);
  lines.push(r.verdict);
  lines.push(`same comparisons: ${r.verifyCommand}`);
  return `${lines.join('\n')}\n`;
}

/** Figure 4: identical / comparisons per drafter × γ, one panel per (coupling, temperature). */
export function invarianceFigure(r: InvarianceReport, note = ''): VegaLiteSpec {
  const values = r.cells.map((c) => ({
    drafter: c.drafter, gamma: String(c.gamma), coupling: c.coupling, T: `T = ${c.temperature}`,
    share: c.comparisons > 0 ? c.identical / c.comparisons : 1, label: `${c.identical}/${c.comparisons}`,
  }));
  const enc = {
    x: { field: 'gamma', type: 'ordinal', title: 'γ', sort: r.gammas.map(String), axis: { labelAngle: 0 } },
    y: { field: 'drafter', type: 'nominal', title: null, sort: r.drafters, axis: { labelLimit: 400 } },
  };
  return {
    title: {
      text: `Drafter invariance: ${r.identical}/${r.comparisons} completions byte-identical to autoregressive decoding`,
      subtitle: [`target ${r.target}; ${r.caseCount} (prompt, seed) cases per cell, ≤ ${r.maxTokens} tokens; ${r.machine.cpu}; commit ${r.commit?.slice(0, 12) ?? 'none'}${r.dirty ? '+' : ''}`,
        r.verifyCommand, ...(note ? [note] : [])],
    },
    data: { values },
    facet: {
      row: { field: 'coupling', type: 'nominal', title: null },
      column: { field: 'T', type: 'nominal', title: null },
    },
    spec: {
      width: { step: 44 },
      height: { step: 24 },
      layer: [
        { mark: 'rect', encoding: { ...enc, color: { field: 'share', type: 'quantitative', title: 'identical', scale: { domain: [0.9, 1], range: ['#d62728', '#2ca02c'], clamp: true } } } },
        { mark: { type: 'text', fontSize: 9, color: 'white' }, encoding: { ...enc, text: { field: 'label', type: 'nominal' } } },
      ],
    },
  };
}
