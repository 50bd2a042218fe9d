/**
 * The verification grid behind `lockstep verify`, the demo and `bench invariance`: the same (prompt, seed) cases
 * through every drafter × coupling × temperature × γ, each compared byte for byte with autoregressive decoding
 * (drafter "none"), with per-(drafter, γ) acceptance and speed.
 */
import { CompletionMode } from '../engine/process/engine';
import { CouplingKind, INVARIANT_COUPLINGS } from '../engine/decode/couplings/registry';
import { builtinDrafterSpecs, formatDrafterSpec } from '../engine/decode/drafters/drafterSpec';
import { NO_DRAFTER } from '../engine/decode/drafters/none';
import { DeviceOutcome } from '../engine/runtime/device';
import { ExactnessVerdict } from '../engine/runtime/exactness';
import { CatalogEntry, resolveModelDir } from '../models/catalog';
import { ModelOptions, engineNotices, entryFor, openCatalog, openEngine, shippedDrafters } from './engineOpen';
import { PromptText, fixturePrompts, promptAtPosition } from './prompts';

/** The grid of decoding settings that `lockstep verify` and the benchmarks sweep (each list: every value is run). */
export interface DecodeGrid {
  drafters?: string[];
  couplings?: CouplingKind[];
  gammas?: (number | 'auto')[];
  temperatures?: number[];
  topP?: number;
  topK?: number;
  maxTokens?: number;
  mode?: CompletionMode;
}

export interface VerifyOptions extends ModelOptions, DecodeGrid {
  cases?: number;
  files?: string[];
  /** Prompts given directly (used by the demo); overrides files and fixtures. */
  prompts?: PromptText[];
  /** Called after each comparison (progress). */
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyMismatch {
  prompt: { label: string; before: string; after: string };
  seed: number;
  coupling: CouplingKind;
  temperature: number;
  topP: number;
  topK: number;
  gamma: number | 'auto';
  drafter: string;
  expected: string;
  actual: string;
  /** Index of the first differing character. */
  firstDifference: number;
}

export interface VerifyRow {
  drafter: string;
  gamma: number | 'auto';
  comparisons: number;
  identical: number;
  drafted: number;
  accepted: number;
  acceptance: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export interface VerifyReport {
  /** The device the models ran on. */
  device: DeviceOutcome;
  /** The exactness probe's verdict on the target (not exact: every drafter ran plain decoding). */
  exactness: ExactnessVerdict;
  /** Number of comparisons (drafter runs checked against their reference). */
  cases: number;
  identical: number;
  mismatches: VerifyMismatch[];
  /** (prompt, seed) pairs. */
  caseCount: number;
  prompts: string[];
  seeds: number[];
  target: string;
  drafters: string[];
  couplings: CouplingKind[];
  gammas: (number | 'auto')[];
  temperatures: number[];
  maxTokens: number;
  mode: CompletionMode;
  referenceRuns: number;
  emptyReferences: number;
  /** What the engine had to cap to fit the target's context (each sentence once), e.g. a too large maxTokens. */
  notes: string[];
  rows: VerifyRow[];
  seconds: number;
  verdict: string;
}

function excerpt(s: string, fromEnd: boolean, n = 80): string {
  if (s.length <= n) return s;
  return fromEnd ? `…${s.slice(-n)}` : `${s.slice(0, n)}…`;
}

export async function runVerify(v: VerifyOptions, cwd: string): Promise<VerifyReport> {
  const t0 = performance.now();
  const catalog = openCatalog(v.catalog, cwd);
  const targetSpec = v.target ?? 'lockstep-target';
  let drafterSpecs = v.drafters && v.drafters.length > 0 ? v.drafters : undefined;
  if (!drafterSpecs) {
    let entry: CatalogEntry | undefined;
    try {
      entry = entryFor(catalog, targetSpec, resolveModelDir(targetSpec, catalog, cwd));
    } catch {
      entry = undefined;
    }
    drafterSpecs = [...shippedDrafters(catalog, entry), ...builtinDrafterSpecs({ verified: true }).map(formatDrafterSpec)];
  }
  drafterSpecs = [...new Set(drafterSpecs)];
  const couplings = v.couplings && v.couplings.length > 0 ? [...new Set(v.couplings)] : [...INVARIANT_COUPLINGS];
  const gammas = v.gammas && v.gammas.length > 0 ? [...new Set(v.gammas)] : [1, 3, 6];
  const temperatures = v.temperatures && v.temperatures.length > 0 ? [...new Set(v.temperatures)] : [0, 0.7];
  const caseCount = v.cases ?? 20;
  const maxTokens = v.maxTokens ?? 32;
  const mode = v.mode ?? 'free';
  const topP = v.topP ?? 1;
  const topK = v.topK ?? 0;
  let basePrompts: PromptText[];
  if (v.prompts && v.prompts.length > 0) basePrompts = v.prompts;
  else if (v.files && v.files.length > 0) basePrompts = v.files.map((f) => promptAtPosition(f, cwd));
  else basePrompts = fixturePrompts(caseCount);
  const cases = Array.from({ length: caseCount }, (_, i) => ({ prompt: basePrompts[i % basePrompts.length], seed: i }));

  const setup = await openEngine(v, drafterSpecs.filter((d) => d !== NO_DRAFTER), cwd);
  const compared = setup.drafters;
  const rows = new Map<string, VerifyRow>();
  for (const p of compared) {
    for (const g of gammas) {
      rows.set(`${p.spec}\u0000${g}`, {
        drafter: p.spec, gamma: g, comparisons: 0, identical: 0, drafted: 0, accepted: 0, acceptance: 0, tokens: 0, seconds: 0, tokensPerSecond: 0,
      });
    }
  }
  const mismatches: VerifyMismatch[] = [];
  let comparisons = 0;
  let identical = 0;
  let referenceRuns = 0;
  let emptyReferences = 0;
  const info = setup.engine.info();
  const notes = new Set<string>(engineNotices(info, setup.targetSpec));
  // A patched q4 copy is part of what was verified: say so.
  for (const n of info.loadNotes) notes.add(n);
  const total = cases.length * couplings.length * temperatures.length * compared.length * gammas.length;
  try {
    for (const c of cases) {
      for (const coupling of couplings) {
        for (const temperature of temperatures) {
          const base = {
            before: c.prompt.before, after: c.prompt.after, coupling, seed: c.seed,
            sampling: { temperature, topP, topK }, maxTokens, mode,
          };
          const ref = await setup.engine.complete({ ...base, drafter: NO_DRAFTER, gamma: 1 });
          referenceRuns++;
          if (ref.text === '') emptyReferences++;
          if (ref.contextNote !== undefined) notes.add(ref.contextNote);
          for (const p of compared) {
            for (const gamma of gammas) {
              const r = await setup.engine.complete({ ...base, drafter: p.requestName, gamma });
              comparisons++;
              const row = rows.get(`${p.spec}\u0000${gamma}`)!;
              row.comparisons++;
              row.drafted += r.drafted;
              row.accepted += r.accepted;
              row.tokens += r.tokens;
              row.seconds += r.seconds - r.prefillSeconds;
              if (r.text === ref.text) {
                identical++;
                row.identical++;
              } else {
                let k = 0;
                while (k < ref.text.length && k < r.text.length && ref.text[k] === r.text[k]) k++;
                mismatches.push({
                  prompt: { label: c.prompt.label, before: excerpt(c.prompt.before, true), after: excerpt(c.prompt.after, false) },
                  seed: c.seed, coupling, temperature, topP, topK, gamma, drafter: p.spec,
                  expected: ref.text, actual: r.text, firstDifference: k,
                });
              }
              v.onProgress?.(comparisons, total);
            }
          }
        }
      }
    }
  } finally {
    await setup.engine.dispose();
  }
  for (const row of rows.values()) {
    row.acceptance = row.drafted > 0 ? row.accepted / row.drafted : 0;
    row.tokensPerSecond = row.seconds > 0 ? row.tokens / row.seconds : 0;
  }
  const verdict = mismatches.length === 0
    ? `verdict: IDENTICAL — all ${comparisons} comparisons gave byte-identical text (${caseCount} cases × ` +
      `${couplings.length} couplings × ${temperatures.length} temperatures × ${compared.length} drafters × ${gammas.length} γ)`
    : `verdict: MISMATCH — ${mismatches.length} of ${comparisons} comparisons differ from the autoregressive reference`;
  const off = info.exactness.exact ? '' : ' — drafting was off (the target is not exact), so every drafter ran plain decoding';
  return {
    device: info.device, exactness: info.exactness, cases: comparisons, identical, mismatches, caseCount,
    prompts: [...new Set(cases.map((c) => c.prompt.label))], seeds: cases.map((c) => c.seed),
    target: setup.targetSpec, drafters: compared.map((p) => p.spec), couplings, gammas, temperatures, maxTokens, mode,
    referenceRuns, emptyReferences, notes: [...notes], rows: [...rows.values()], seconds: (performance.now() - t0) / 1000, verdict: `${verdict}${off}`,
  };
}
