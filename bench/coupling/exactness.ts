/**
 * `lockstep bench exactness --target DIR` — the exactness probe's table for each ONNX variant of a model folder: rows
 * bitwise equal to one prefill, per candidate call rule and grouping (every rule is run, not only until one is exact,
 * and nothing is cached), and the verdict the engine would take. On a 0.5B model each rule costs ~45 calls: minutes
 * on 2 cores. The engine itself runs the same probe (src/engine/runtime/exactness.ts) and stops at the first exact rule.
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { UsageError } from '../../src/cli/args';
import type { CliIo } from '../../src/cli/io';
import { CALL_RULES } from '../../src/engine/runtime/device';
import { CANDIDATE_RULES, PROBE_GROUPINGS, RuleResult, probeExactness } from '../../src/engine/runtime/exactness';
import { CausalLM, ORT_VERSION } from '../../src/engine/runtime/model';
import { onnxFilesIn, variantOfFile } from '../../src/engine/runtime/modelDir';
import { writeJson } from '../common';

export const exactnessDefs = {
  help: A.flag('show this help', 'h'),
  json: A.flag('print the report as JSON'),
  out: A.single(A.str, 'DIR', 'where exactness.json goes (default .bench-results)'),
  target: A.single(A.str, 'DIR', 'a model folder (onnx/model*.onnx); required'),
  variants: A.repeated(A.str, 'LIST', 'variants to probe (default: every ONNX file in the folder)'),
  rules: A.repeated(A.choice(CANDIDATE_RULES.map((r) => r.id)), 'LIST', `call rules (default all: ${CANDIDATE_RULES.map((r) => r.id).join(',')})`),
  threads: A.single(A.threads, 'N', 'intra-op threads (default 1)'),
  'no-fused': A.flag('probe fp32 files as they are (default: the fused-operator copy the engine loads, src/engine/runtime/fusedModel.ts)'),
};

export interface ExactnessRow {
  variant: string;
  rule: string;
  /** Rows bitwise equal to the one-prefill reference, per grouping (PROBE_GROUPINGS order). */
  equal: number[];
  rows: number[];
  exact: boolean;
  seconds: number;
}

export interface ExactnessReport {
  bench: 'exactness';
  target: string;
  onnxruntime: string;
  threads: number;
  groupings: string[];
  rows: ExactnessRow[];
  /** The file each variant was loaded from (an fp32 file's fused copy unless --no-fused). */
  files: Record<string, string>;
  verdicts: { variant: string; exact: boolean; rule?: string }[];
}

const groupingLabel = (g: readonly number[]): string => (g.length === 9 ? '16,1×8' : g.join(','));

export async function exactnessCommand(argv: string[], io: CliIo, help: (defs: A.OptionDefs) => string): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, exactnessDefs);
  if (o.help) {
    io.stdout(`lockstep bench exactness --target DIR [options] — the exactness probe per variant and call rule\n\nOptions:\n${help(exactnessDefs)}`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench exactness takes no arguments (got '${positionals[0]}')`);
  if (!o.target) throw new UsageError('bench exactness needs --target DIR (a model folder with onnx/model*.onnx)');
  const dir = path.resolve(io.cwd, o.target);
  const threads = o.threads ?? 1;
  const variants = o.variants?.length ? o.variants : onnxFilesIn(dir).map(variantOfFile);
  if (variants.length === 0) throw new UsageError(`${dir} has no onnx/*.onnx file`);
  const rules = CANDIDATE_RULES.filter((r) => !o.rules?.length || o.rules.includes(r.id));
  const report: ExactnessReport = {
    bench: 'exactness', target: dir, onnxruntime: ORT_VERSION, threads,
    groupings: PROBE_GROUPINGS.map(groupingLabel), rows: [], files: {}, verdicts: [],
  };
  const head = ['variant', 'rule', ...report.groupings, 'exact', 's'];
  const line = (cells: string[]) => !o.json && io.stdout(`| ${cells.join(' | ')} |\n`);
  if (!o.json) io.stdout(`${dir}: onnxruntime ${ORT_VERSION}, cpu, ${threads} thread${threads === 1 ? '' : 's'}; rows equal / rows per grouping (negative = rollback)\n`);
  line(head);
  line(head.map(() => '---'));
  for (const variant of variants) {
    const model = await CausalLM.load(dir, { variant, threads, device: 'cpu', fusedOps: o['no-fused'] !== true });
    report.files[variant] = model.loadedFile;
    if (model.loadNote && !o.json) io.stdout(`${variant}: ${model.loadNote}\n`);
    const results: RuleResult[] = [];
    try {
      for (const rule of rules) {
        const t0 = performance.now();
        const v = await probeExactness(model, { variant, device: 'cpu', threads, ortVersion: ORT_VERSION }, CALL_RULES.cpu, [rule], true);
        const r = v.results[0];
        results.push(r);
        const row: ExactnessRow = {
          variant, rule: rule.id, equal: r.groupings.map((g) => g.equal), rows: r.groupings.map((g) => g.rows),
          exact: r.exact, seconds: (performance.now() - t0) / 1000,
        };
        report.rows.push(row);
        line([variant, rule.id, ...row.equal.map((e, i) => `${e}/${row.rows[i]}`), r.exact ? 'yes' : 'no', row.seconds.toFixed(1)]);
      }
    } finally {
      await model.dispose();
    }
    // The engine takes the first (cheapest) exact rule in CANDIDATE_RULES order.
    const chosen = results.find((r) => r.exact);
    report.verdicts.push({ variant, exact: chosen !== undefined, ...(chosen ? { rule: chosen.rule } : {}) });
    line([variant, `verdict: ${chosen ? `exact with ${chosen.rule}` : 'not exact: drafting off'}`]);
  }
  const file = writeJson(path.resolve(io.cwd, o.out ?? '.bench-results'), 'exactness', report);
  if (o.json) io.stdout(`${JSON.stringify(report)}\n`);
  else io.stdout(`wrote ${file}\n`);
  return 0;
}
