/**
 * `lockstep bench quality` — completion quality on held-out packages the project's models never trained on, with and
 * without cross-file context: exact match, edit similarity and identifier F1 (CrossCodeEval, Ding et al. 2023) of
 * line and block completions at cursor points whose line uses a name defined in another file of the package, and at
 * random points (bench/quality/data.ts). T = 0 (greedy, one run) and T = 0.2 over several seeds (mean and the spread
 * between seeds). Any target: --target takes a directory or catalog id; the prompt is the one the extension sends
 * (bench/quality/prompt.ts), in the repository format of the target's FIM family (lockstep or Qwen2.5-Coder; other
 * families have none and get the plain prompt in both arms).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openEngine } from '../../src/cli/engineOpen';
import { TargetState, generate } from '../../src/engine/decode/decode';
import { NoDrafter } from '../../src/engine/decode/drafters/none';
import { fimStopTokenIds } from '../../src/engine/prompt/fim';
import { StopChecker } from '../../src/engine/prompt/stops';
import { packageRoot } from '../../src/models/catalog';
import { ReportHead, headLines, reportHead, table } from '../common';
import { VegaLiteSpec } from '../report/plot';
import { HeldoutPackage, QualityTask, TaskKind, TaskSelection, loadPackage, selectTasks } from './data';
import { QualityScores, meanScores, scoreCompletion } from './metrics';
import { qualityPrompt } from './prompt';

export interface QualityOptions {
  catalog?: string;
  target?: string;
  threads?: number;
  fim?: string;
  /** Package directories (default: every folder of bench/fixtures/quality). */
  packages?: string[];
  crossFile?: number;
  random?: number;
  /** Seeds at the sampling temperature. */
  seeds?: number;
  temperature?: number;
  lineTokens?: number;
  blockTokens?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
}

export const QUALITY_DEFAULTS = { crossFile: 30, random: 15, seeds: 3, temperature: 0.2, lineTokens: 32, blockTokens: 64 };
export const QUALITY_QUICK = { crossFile: 2, random: 1, seeds: 2, lineTokens: 12, blockTokens: 16 };

export type Arm = 'without-context' | 'with-context';
type Group = 'all' | `${TaskKind} ${TaskSelection}`;

export interface QualitySample extends QualityScores {
  task: string;
  arm: Arm;
  temperature: number;
  seed: number;
  prediction: string;
  promptTokens: number;
  snippets: number;
}

export interface QualityRow extends QualityScores {
  arm: Arm;
  context: boolean;
  group: Group;
  temperature: number;
  seeds: number;
  tasks: number;
  /** Standard deviation between seeds of each metric's mean (0 at T = 0: one greedy run). */
  exactMatchSeedSd: number;
  editSimilaritySeedSd: number;
  identifierF1SeedSd: number;
}

export interface QualityReport extends ReportHead {
  target: string;
  fim: string;
  packages: string[];
  temperature: number;
  seeds: number[];
  lineTokens: number;
  blockTokens: number;
  tasks: Omit<QualityTask, 'before' | 'after'>[];
  rows: QualityRow[];
  samples: QualitySample[];
}

/** The packages in bench/fixtures/quality (each a folder of one held-out package's files). */
export function fixturePackages(): string[] {
  const dir = path.join(packageRoot(), 'bench', 'fixtures', 'quality');
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name)).sort();
}

const ARMS: Arm[] = ['without-context', 'with-context'];
const GROUPS: Group[] = ['all', 'line cross-file', 'line random', 'block cross-file', 'block random'];

function sd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Rows per arm × temperature × group: mean over tasks and seeds, and the spread of the per-seed means. */
export function qualityRows(samples: readonly QualitySample[], tasks: readonly QualityTask[]): QualityRow[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const inGroup = (s: QualitySample, g: Group) => {
    const t = byId.get(s.task)!;
    return g === 'all' || g === `${t.kind} ${t.selection}`;
  };
  const rows: QualityRow[] = [];
  for (const temperature of [...new Set(samples.map((s) => s.temperature))].sort((a, b) => a - b)) {
    for (const arm of ARMS) {
      for (const group of GROUPS) {
        const xs = samples.filter((s) => s.arm === arm && s.temperature === temperature && inGroup(s, group));
        if (xs.length === 0) continue;
        const seeds = [...new Set(xs.map((s) => s.seed))];
        const perSeed = seeds.map((seed) => meanScores(xs.filter((s) => s.seed === seed)));
        rows.push({
          arm, context: arm === 'with-context', group, temperature, seeds: seeds.length, tasks: new Set(xs.map((s) => s.task)).size,
          ...meanScores(xs),
          exactMatchSeedSd: sd(perSeed.map((p) => p.exactMatch)),
          editSimilaritySeedSd: sd(perSeed.map((p) => p.editSimilarity)),
          identifierF1SeedSd: sd(perSeed.map((p) => p.identifierF1)),
        });
      }
    }
  }
  return rows;
}

export async function runQuality(o: QualityOptions, cwd: string): Promise<QualityReport> {
  const t0 = performance.now();
  const pkgDirs = o.packages && o.packages.length > 0 ? o.packages.map((p) => path.resolve(cwd, p)) : fixturePackages();
  const pkgs: HeldoutPackage[] = pkgDirs.map((d) => loadPackage(d));
  const tasks = selectTasks(pkgs, { crossFile: o.crossFile ?? QUALITY_DEFAULTS.crossFile, random: o.random ?? QUALITY_DEFAULTS.random });
  if (tasks.length === 0) throw new Error(`no cursor points in ${pkgDirs.join(', ')}`);
  const temperature = o.temperature ?? QUALITY_DEFAULTS.temperature;
  const seeds = Array.from({ length: o.seeds ?? QUALITY_DEFAULTS.seeds }, (_, i) => i + 1);
  const lineTokens = o.lineTokens ?? QUALITY_DEFAULTS.lineTokens;
  const blockTokens = o.blockTokens ?? QUALITY_DEFAULTS.blockTokens;
  const setup = await openEngine(o, [], cwd);
  const engine = setup.engine;
  const files = new Map(pkgs.map((p) => [p.name, p.files]));
  const stopIds = new Set<number>([...engine.target.config.eosTokenIds, ...fimStopTokenIds(engine.tokenizer, engine.fim)]);
  const state = new TargetState(engine.target);
  const drafter = new NoDrafter();
  const samples: QualitySample[] = [];
  const runs: { temperature: number; seed: number }[] = [{ temperature: 0, seed: 0 }, ...seeds.map((seed) => ({ temperature, seed }))];
  const total = tasks.length * ARMS.length * runs.length;
  let done = 0;
  try {
    for (const task of tasks) {
      const maxTokens = task.kind === 'line' ? lineTokens : blockTokens;
      const fit = engine.fitContext({ maxTokens });
      for (const arm of ARMS) {
        const prompt = qualityPrompt(engine.tokenizer, engine.fim, {
          package: task.package, path: task.path, before: task.before, after: task.after, files: files.get(task.package) ?? [],
          maxPromptTokens: fit.promptTokens, withContext: arm === 'with-context',
        });
        for (const run of runs) {
          state.reset();
          const checker = new StopChecker(engine.tokenizer, { maxTokens: fit.maxTokens, mode: task.kind, stopTokenIds: stopIds, before: task.before, after: task.after });
          await generate(state, drafter, {
            prompt: prompt.ids, coupling: 'gumbel', sampling: { temperature: run.temperature, topP: 1, topK: 0 }, seed: run.seed,
            gamma: 1, maxTokens: fit.maxTokens, sink: checker, vocabLimit: engine.tokenizer.vocabSize,
          });
          const prediction = checker.text();
          samples.push({
            task: task.id, arm, temperature: run.temperature, seed: run.seed, prediction, promptTokens: prompt.ids.length, snippets: prompt.snippets,
            ...scoreCompletion(prediction, task.reference),
          });
          o.onProgress?.(++done, total);
        }
      }
    }
  } finally {
    await engine.dispose();
  }
  return {
    ...reportHead('quality', o.argv ?? ['bench', 'quality'], o.threads ?? 0, { target: setup.targetDir }, t0),
    target: setup.targetSpec, fim: engine.fim.id, packages: pkgs.map((p) => p.name), temperature, seeds, lineTokens, blockTokens,
    tasks: tasks.map(({ before: _b, after: _a, ...t }) => t), rows: qualityRows(samples, tasks), samples,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}`;

export function formatQuality(r: QualityReport): string {
  const lines = [headLines(r).trimEnd()];
  const n = r.tasks.length;
  lines.push(`target ${r.target} (FIM ${r.fim}); packages ${r.packages.join(', ')}; ${n} tasks ` +
    `(${r.tasks.filter((t) => t.selection === 'cross-file').length} at cross-file points); T=0 and T=${r.temperature} × seeds ${r.seeds.join(',')}; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['arm', 'group', 'T', 'tasks', 'exact match %', 'edit sim %', 'identifier F1 %', 'seed sd (EM/ES/F1)'],
    r.rows.map((x) => [x.arm, x.group, String(x.temperature), String(x.tasks), pct(x.exactMatch), pct(x.editSimilarity), pct(x.identifierF1),
      x.seeds > 1 ? `${pct(x.exactMatchSeedSd)}/${pct(x.editSimilaritySeedSd)}/${pct(x.identifierF1SeedSd)}` : '—']),
  ));
  return `${lines.join('\n')}\n`;
}

/** Per metric and temperature: each group's mean with and without context (bars), ± the seed spread (rules). */
export function qualityFigure(r: QualityReport, note = ''): VegaLiteSpec {
  const values = r.rows.flatMap((x) => (['exactMatch', 'editSimilarity', 'identifierF1'] as const).map((m) => {
    const s = x[`${m}SeedSd`];
    return { arm: x.arm, group: x.group, T: `T = ${x.temperature}`, metric: m, value: x[m], lo: x[m] - s, hi: x[m] + s };
  }));
  const x = { field: 'group', type: 'nominal', title: null, sort: GROUPS };
  return {
    title: {
      text: 'Completion quality on held-out packages, with and without cross-file context',
      subtitle: [`target ${r.target}; ${r.tasks.length} tasks in ${r.packages.join(', ')}; rules: ± sd between seeds; ${r.machine.cpu}; ` +
        `commit ${r.commit?.slice(0, 12) ?? 'none'}${r.dirty ? '+' : ''}`, ...(note ? [note] : [])],
    },
    data: { values },
    facet: { row: { field: 'T', type: 'nominal', title: null }, column: { field: 'metric', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 160,
      layer: [
        { mark: 'bar', encoding: { x, xOffset: { field: 'arm', sort: ARMS }, y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [0, 1] } }, color: { field: 'arm', type: 'nominal', sort: ARMS, title: null } } },
        { mark: { type: 'rule', color: 'black' }, encoding: { x, xOffset: { field: 'arm', sort: ARMS }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      ],
    },
  };
}
