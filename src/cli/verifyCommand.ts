/**
 * `lockstep verify [options]`: the verification grid (verifyGrid.ts) from the command line, printed as a table
 * (formatVerify) or one JSON object; exit status 1 on any mismatch.
 */
import { describeOutcome } from '../engine/runtime/device';
import { describeVerdict } from '../engine/runtime/exactness';
import * as A from './args';
import { UsageError } from './args';
import { CliIo, EXIT_STATUS_HELP } from './io';
import { COUPLING_IDS, INVARIANT_COUPLINGS } from '../engine/decode/couplings/registry';
import { commonDefs } from './options';
import { table } from './table';
import { VerifyReport, runVerify } from './verifyGrid';

const verifyDefs = {
  ...commonDefs,
  drafter: A.repeated(A.str, 'DRAFTER', 'drafters to compare (repeatable; default: every shipped drafter, none, prompt-lookup)'),
  coupling: A.repeated(A.choice(COUPLING_IDS), 'KIND', `couplings (repeatable; default ${INVARIANT_COUPLINGS.join(',')})`),
  gamma: A.repeated(A.gamma, 'G', 'γ values (repeatable or comma list; default 1,3,6)'),
  temperature: A.repeated(A.temperature, 'T', 'temperatures (repeatable or comma list; default 0,0.7)'),
  cases: A.single(A.positiveInt, 'N', 'number of (prompt, seed) cases, seeds 0..N−1 (default 20)'),
  file: A.repeated(A.str, 'FILE:LINE:COL', 'prompt positions (repeatable; default: held-out fixtures)', false),
};

export function verifyHelp(): string {
  return 'Usage: lockstep verify [options]\n' +
    'For each case (prompt, seed), coupling and temperature the reference is the text of the "none" drafter\n' +
    '(autoregressive decoding); every other drafter and γ must give the same bytes. Exit status 1 on any mismatch.' +
    `\n\nOptions:\n${A.describeOptions(verifyDefs)}\n\n${EXIT_STATUS_HELP}`;
}

export async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, verifyDefs);
  if (o.help) {
    io.stdout(`${verifyHelp()}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`verify takes no arguments (got '${positionals[0]}'); use --file <file>:<line>:<col>`);
  const report = await runVerify({
    catalog: o.catalog, target: o.target, threads: o.threads, fim: o.fim, device: o.device, variant: o.variant, 'drafter-variant': o['drafter-variant'],
    'no-fast-q4': o['no-fast-q4'],
    'no-fused': o['no-fused'],
    drafters: o.drafter, couplings: o.coupling, gammas: o.gamma, temperatures: o.temperature,
    topP: o['top-p'], topK: o['top-k'], maxTokens: o['max-tokens'], mode: o.mode, cases: o.cases, files: o.file,
  }, io.cwd);
  for (const n of report.notes) io.stderr(`lockstep: ${n}\n`);
  if (o.json) io.stdout(`${JSON.stringify(report)}\n`);
  else io.stdout(formatVerify(report));
  return report.mismatches.length === 0 ? 0 : 1;
}

export function formatVerify(r: VerifyReport): string {
  const lines: string[] = [];
  lines.push(describeOutcome(r.device));
  lines.push(`exactness: ${describeVerdict(r.exactness)}${r.exactness.cached ? ' (cached probe)' : ''}`);
  lines.push(`target ${r.target}; ${r.caseCount} cases (prompt, seed 0..${r.caseCount - 1}) over ${r.prompts.length} prompt${r.prompts.length === 1 ? '' : 's'}; ` +
    `couplings ${r.couplings.join(',')}; temperatures ${r.temperatures.join(',')}; ${r.mode} mode, ≤ ${r.maxTokens} tokens`);
  lines.push(`reference: drafter none (autoregressive), ${r.referenceRuns} runs${r.emptyReferences > 0 ? ` (${r.emptyReferences} gave empty text)` : ''}`);
  lines.push('');
  lines.push(table(
    ['drafter', 'γ', 'identical', 'acceptance', 'tokens/s'],
    r.rows.map((x) => [x.drafter, String(x.gamma), `${x.identical}/${x.comparisons}`, x.drafted > 0 ? `${(100 * x.acceptance).toFixed(1)}%` : '—', x.tokensPerSecond.toFixed(1)]),
  ));
  if (r.mismatches.length > 0) {
    lines.push('');
    lines.push('mismatches:');
    for (const m of r.mismatches.slice(0, 10)) {
      lines.push(`  ${m.prompt.label} seed ${m.seed} ${m.coupling} T=${m.temperature} γ=${m.gamma} drafter ${m.drafter}: ` +
        `first difference at character ${m.firstDifference}`);
      lines.push(`    expected ${JSON.stringify(m.expected)}`);
      lines.push(`    actual   ${JSON.stringify(m.actual)}`);
    }
    if (r.mismatches.length > 10) lines.push(`  … and ${r.mismatches.length - 10} more (use --json for all)`);
  }
  lines.push('');
  lines.push(`${r.identical}/${r.cases} identical in ${r.seconds.toFixed(1)} s`);
  lines.push(r.verdict);
  return `${lines.join('\n')}\n`;
}
