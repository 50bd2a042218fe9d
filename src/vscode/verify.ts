/**
 * Verify Drafter Invariance: which runs to make at the cursor, and the report (markdown) comparing their bytes.
 * Within one coupling every drafter must give the same text; gumbel and wmh are different couplings, so their texts
 * may differ from each other. No `vscode` import.
 */
import type { CompletionMode } from '../engine/process/engine';
import { COUPLINGS, CouplingKind, INVARIANT_COUPLINGS } from '../engine/decode/couplings/registry';
import { describeVerdict, type ExactnessVerdict } from '../engine/runtime/exactness';

/** The couplings Verify compares: the drafter-invariant ones (`standard` is not invariant by design). */
export const VERIFY_COUPLINGS: readonly CouplingKind[] = INVARIANT_COUPLINGS;

export interface VerifyRun {
  drafter: string;
  coupling: CouplingKind;
  /** The completion, or undefined when the run failed. */
  text?: string;
  error?: string;
  tokens: number;
  tokensPerSecond: number;
  drafted: number;
  accepted: number;
  seconds: number;
}

export interface VerifyMeta {
  /** Where the cursor was ("file.js:12:5"). */
  position: string;
  target: string;
  seed: number;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  mode: CompletionMode;
  draftTokens: number | 'auto';
  /** The exactness probe's verdict on the target (not exact: drafting was off, every drafter decoded plainly). */
  exactness?: ExactnessVerdict;
}

export interface VerifyGroup {
  coupling: CouplingKind;
  /** The reference text (the `none` drafter's, else the first successful run's). */
  reference?: string;
  referenceDrafter?: string;
  identical: boolean;
  runs: number;
  matching: number;
  /** Distinct texts and the drafters that produced each. */
  variants: { text: string; drafters: string[] }[];
  errors: { drafter: string; error: string }[];
}

export interface VerifyOutcome {
  /** Every run succeeded and, per coupling, all texts are byte-identical. */
  identical: boolean;
  groups: VerifyGroup[];
  runs: VerifyRun[];
  markdown: string;
  /** One line for a notification. */
  summary: string;
}

/** Index of the first UTF-16 unit where a and b differ (-1 when equal). */
export function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return a.length === b.length ? -1 : n;
}

/** A fence longer than any run of backticks in the text, so any completion shows verbatim. */
export function fenceFor(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function codeBlock(text: string): string {
  const fence = fenceFor(text);
  return `${fence}\n${text}${text.endsWith('\n') ? '' : '\n'}${fence}`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function groupRuns(runs: readonly VerifyRun[]): VerifyGroup[] {
  const couplings = [...new Set(runs.map((r) => r.coupling))];
  return couplings.map((coupling) => {
    const rs = runs.filter((r) => r.coupling === coupling);
    const ok = rs.filter((r) => r.text !== undefined);
    const ref = ok.find((r) => r.drafter === 'none') ?? ok[0];
    const variants: { text: string; drafters: string[] }[] = [];
    for (const r of ok) {
      const v = variants.find((x) => x.text === r.text);
      if (v) v.drafters.push(r.drafter);
      else variants.push({ text: r.text!, drafters: [r.drafter] });
    }
    const errors = rs.filter((r) => r.text === undefined).map((r) => ({ drafter: r.drafter, error: r.error ?? 'failed' }));
    const matching = ref ? ok.filter((r) => r.text === ref.text).length : 0;
    return {
      coupling,
      reference: ref?.text,
      referenceDrafter: ref?.drafter,
      identical: errors.length === 0 && ok.length > 0 && matching === ok.length,
      runs: rs.length,
      matching,
      variants,
      errors,
    };
  });
}

export function summarizeVerify(runs: readonly VerifyRun[], meta: VerifyMeta): VerifyOutcome {
  const groups = groupRuns(runs);
  const identical = groups.length > 0 && groups.every((g) => g.identical);
  const drafters = [...new Set(runs.map((r) => r.drafter))];
  const summary = identical
    ? `Drafter invariance holds: ${drafters.length} drafters × ${groups.length} couplings, byte-identical text per coupling (seed ${meta.seed})` +
      (meta.exactness && !meta.exactness.exact ? ' — drafting was off (the target is not exact), so every drafter decoded plainly.' : '.')
    : `Drafter invariance FAILED at ${meta.position} (seed ${meta.seed}): ${groups
      .filter((g) => !g.identical)
      .map((g) => `${g.coupling}: ${g.matching}/${g.runs} match${g.errors.length ? `, ${g.errors.length} failed` : ''}`)
      .join('; ')}.`;

  const lines: string[] = [];
  lines.push(`# Lockstep — drafter invariance at ${meta.position}`);
  lines.push('');
  lines.push(identical ? `**✅ All identical.** ${summary}` : `**❌ Not identical.** ${summary}`);
  lines.push('');
  lines.push('| setting | value |');
  lines.push('| --- | --- |');
  lines.push(`| target | ${cell(meta.target)} |`);
  lines.push(`| seed | ${meta.seed} |`);
  lines.push(`| temperature / top-p / top-k | ${meta.temperature} / ${meta.topP} / ${meta.topK} |`);
  lines.push(`| draft tokens (γ) | ${meta.draftTokens} |`);
  if (meta.exactness) lines.push(`| exactness | ${cell(describeVerdict(meta.exactness))} |`);
  lines.push(`| max tokens / mode | ${meta.maxTokens} / ${meta.mode} |`);
  lines.push('');
  lines.push('| coupling | drafter | bytes identical | tokens | tokens/s | acceptance | seconds |');
  lines.push('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const g of groups) {
    for (const r of runs.filter((x) => x.coupling === g.coupling)) {
      const same = r.text === undefined ? `error: ${cell(r.error ?? 'failed')}` : r.text === g.reference ? '✅ yes' : `❌ no (first difference at ${firstDifference(g.reference ?? '', r.text)})`;
      const acc = r.drafted > 0 ? `${((100 * r.accepted) / r.drafted).toFixed(0)}% (${r.accepted}/${r.drafted})` : '—';
      lines.push(`| ${g.coupling} | ${cell(r.drafter)} | ${same} | ${r.tokens} | ${r.tokensPerSecond.toFixed(1)} | ${acc} | ${r.seconds.toFixed(2)} |`);
    }
  }
  for (const g of groups) {
    lines.push('');
    lines.push(`## ${g.coupling}: ${g.identical ? `identical (${g.matching}/${g.runs})` : `NOT identical (${g.matching}/${g.runs} match the ${g.referenceDrafter ?? 'reference'} text)`}`);
    if (g.variants.length === 0) {
      lines.push('');
      lines.push('_No run succeeded._');
    }
    for (const [i, v] of g.variants.entries()) {
      lines.push('');
      const label = g.variants.length === 1 ? 'Text' : `Text ${i + 1}`;
      const json = JSON.stringify(v.text);
      const shown = json.length <= 200 ? `, as JSON ${'`'}${json.replace(/`/g, '\\u0060')}${'`'}` : '';
      lines.push(`${label} — ${v.drafters.join(', ')} (${Buffer.byteLength(v.text, 'utf8')} bytes${shown}):`);
      lines.push('');
      lines.push(codeBlock(v.text));
    }
    for (const e of g.errors) {
      lines.push('');
      lines.push(`- ${e.drafter}: error — ${e.error}`);
    }
  }
  for (const c of COUPLINGS.filter((x) => !x.invariant)) {
    lines.push('');
    lines.push(`_The \`${c.id}\` coupling (${c.title}) is not drafter-invariant and is not compared here._`);
  }
  lines.push('');
  return { identical, groups, runs: [...runs], markdown: lines.join('\n'), summary };
}
