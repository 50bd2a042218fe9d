/**
 * `lockstep bench [speed|coupling|overhead|invariance|latency|quality|all|report|soak|realsize|exactness|peer|breakdown|callcost|serve] [options]` — the benchmarks behind
 * bench/RESULTS.md and docs/performance.md. Each prints a table (or, with --json, one JSON object with a `rows` array), writes its JSON to
 * --out (default .bench-results/) and draws its figure into --media (default media/). With --quick (smoke runs) the
 * defaults are .bench-results/quick/ and .bench-results/quick/figures/, so they never overwrite published results. `bench report` turns the result files into
 * bench/RESULTS.md. `bench soak` (typing against the real extension; not part of `all`) is its own command. The single
 * measurements (call-time … gguf-convert) are bench/measureCommands.ts; bench/main.ts is the command line's entry.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as A from '../src/cli/args';
import { UsageError } from '../src/cli/args';
import { DeviceRequest } from '../src/engine/runtime/device';
import { type CliIo, EXIT_STATUS_HELP } from '../src/cli/io';
import { packageRoot } from '../src/models/catalog';
import { BenchIo, modelDrafters, progress, writeJson } from './common';
import { CouplingReport, couplingFigure, couplingSummaryFigure, formatCoupling, runCoupling } from './coupling/coupling';
import { InvarianceReport, formatInvariance, invarianceFigure, runInvariance } from './coupling/invariance';
import { LatencyReport, formatLatency, latencyFigure, runLatency } from './speed/latency';
import { OverheadReport, formatOverhead, overheadFigure, runOverhead } from './speed/overhead';
import { common, couplingDefs, invarianceDefs, latencyDefs, overheadDefs, qualityDefs, reportDefs, soakDefs, speedDefs } from './options';
import { VegaLiteSpec, canWritePng, writeFigure } from './report/plot';
import { QUALITY_QUICK, QualityReport, formatQuality, qualityFigure, runQuality } from './quality/quality';
import { resultsMarkdown } from './report/report';
import { exactnessCommand } from './coupling/exactness';
import { realsizeCommand } from './realsize/realsize';
import { peerCommand, peerHelp } from './peer/command';
import { runSoak } from './soak/soak';
import { serveBenchCommand } from './serve/command';
import { MEASURE_COMMANDS, measureCommand, measureHelp, measureSummary } from './measureCommands';
import { formatSoak } from './soak/format';
import { SOAK_QUICK } from './soak/types';
import { BenchReport, formatBench, runBench, speedFigure } from './speed/speed';

const SUBCOMMANDS = ['speed', 'coupling', 'overhead', 'invariance', 'latency', 'quality'] as const;
/** Every sub-command, as the help and the usage errors list them. */
const ALL_SUBS = [...SUBCOMMANDS, 'all', 'report', 'soak', 'realsize', 'exactness', 'peer', 'breakdown', 'callcost', 'serve', ...MEASURE_COMMANDS].join(', ');
type Sub = (typeof SUBCOMMANDS)[number];
const DEFS: Record<Sub, A.OptionDefs> = {
  speed: speedDefs, coupling: couplingDefs, overhead: overheadDefs, invariance: invarianceDefs, latency: latencyDefs, quality: qualityDefs,
};

/** `all` accepts every sub-command's options (as lists) and passes each one to the sub-commands that take it. */
const allDefs: A.OptionDefs = (() => {
  const defs: A.OptionDefs = { ...common };
  for (const sub of SUBCOMMANDS) {
    for (const [name, d] of Object.entries(DEFS[sub])) {
      const cur = defs[name];
      const repeatable = (x: A.OptionDef) => x.kind === 'value' && x.repeatable === true;
      if (cur === undefined || (repeatable(d) && !repeatable(cur))) defs[name] = d;
    }
  }
  return defs;
})();

const HEADS: Record<Sub | 'all' | 'report' | 'soak', string> = {
  soak: 'lockstep bench soak [options] — the real extension (stand-in vscode module, shipped models) under a fast typist:\n' +
    'each keystroke edits the document, cancels the previous request and asks for an inline completion. Per scenario\n' +
    '(keystrokes × debounce × CPU hog): the engine\'s request queue maximum, requests cancelled before they started, p50/p95\n' +
    'of completed requests, the last keystroke\'s latency, RSS and heap series (forced GC), engine processes left at the end.\n' +
    'Not part of `bench all` (the default run takes about 18 minutes on 2 cores).',
  report: 'lockstep bench report [options] — the results (Markdown, as in bench/RESULTS.md) from the result files the benchmarks wrote.',
  speed: 'lockstep bench [speed] [options] — figure 2: tokens/s and speedup against autoregressive decoding of the target\n' +
    'Per held-out prompt, autoregressive decoding and every (drafter, coupling, γ, T) run interleaved; speedup = median over\n' +
    'prompts of the per-prompt tokens/s ratio; predicted = Leviathan et al.; efficiency = speedup ÷ predicted.',
  coupling: 'lockstep bench coupling [options] — figure 1: Pr[a = b] of Gumbel and Weighted MinHash, measured with the engine\'s\n' +
    'samplers over shared-randomness trials at each position of target completions, against the closed forms, 1 − TV and\n' +
    '(1 − TV)/(1 + TV).',
  overhead: 'lockstep bench overhead [options] — figure 3: share of decode time outside session.run, allocations in the\n' +
    'vocabulary-sized loops, peak RSS.',
  invariance: 'lockstep bench invariance [options] — figure 4: `lockstep verify` over ≥ 2000 comparisons (drafters × couplings ×\n' +
    'γ × T × seeds); prints the equivalent verify command. Exit status 1 when any completion differs.',
  latency: 'lockstep bench latency [options] — figure 5: time to first token and to a full single-line completion, p50/p95.',
  quality: 'lockstep bench quality [options] — exact match, edit similarity and identifier F1 of line and block completions on\n' +
    'held-out packages, with and without cross-file context, at T = 0 and over seeds at T = 0.2 (CrossCodeEval\'s metrics).',
  all: 'lockstep bench all [options] — every benchmark in turn (speed, coupling, overhead, invariance, latency, quality); each\n' +
    'option goes to the benchmarks that take it.',
};

/** A bench command's help, with the exit statuses every command lists. */
export function benchHelp(sub?: string): string {
  return `${benchHelpBody(sub)}\n\n${EXIT_STATUS_HELP}`;
}

function benchHelpBody(sub?: string): string {
  if (sub === undefined || sub === 'speed') {
    return `${HEADS.speed}\n\nSub-commands: ${ALL_SUBS} (see 'lockstep bench <sub> --help')\n\n` +
      `Single measurements (printed, not written to --out):\n${measureSummary()}\n\nOptions:\n${A.describeOptions(speedDefs)}`;
  }
  if (sub === 'report') return `${HEADS.report}\n\nOptions:\n${A.describeOptions(reportDefs)}`;
  if (sub === 'soak') return `${HEADS.soak}\n\nOptions:\n${A.describeOptions(soakDefs)}`;
  if (sub === 'peer' || sub === 'breakdown' || sub === 'callcost') return peerHelp(sub);
  if (MEASURE_COMMANDS.includes(sub)) return measureHelp(sub);
  if (sub === 'all') return `${HEADS.all}\n\nOptions:\n${A.describeOptions(allDefs)}`;
  if ((SUBCOMMANDS as readonly string[]).includes(sub)) return `${HEADS[sub as Sub]}\n\nOptions:\n${A.describeOptions(DEFS[sub as Sub])}`;
  throw new UsageError(`unknown bench '${sub}' (${ALL_SUBS})`);
}

type Opts = Record<string, unknown>;

interface Ctx {
  io: BenchIo;
  o: Opts;
  argv: string[];
  outDir: string;
  mediaDir: string | null;
  note: string;
  png: boolean;
  onProgress?: (done: number, total: number) => void;
}

function context(sub: Sub | 'soak', o: Opts, argv: string[], io: CliIo): Ctx {
  // Smoke runs keep away from the published results: their JSON and figures go to .bench-results/quick/.
  const outDir = path.resolve(io.cwd, (o.out as string | undefined) ?? (o.quick ? path.join('.bench-results', 'quick') : '.bench-results'));
  const mediaDir = o['no-figures'] ? null : path.resolve(io.cwd, (o.media as string | undefined) ?? (o.quick ? path.join(outDir, 'figures') : 'media'));
  return {
    io, o, argv: ['bench', sub, ...argv], outDir, mediaDir, note: (o.note as string | undefined) ?? '', png: o.png === true,
    onProgress: o.quiet ? undefined : progress(io, sub),
  };
}

const list = <T>(x: unknown): T[] | undefined => (Array.isArray(x) && x.length > 0 ? (x as T[]) : undefined);

async function figures(ctx: Ctx, specs: [string, VegaLiteSpec][]): Promise<string[]> {
  if (!ctx.mediaDir) return [];
  const written: string[] = [];
  try {
    for (const [name, spec] of specs) written.push(...(await writeFigure(ctx.mediaDir, name, spec, ctx.png)));
  } catch (e) {
    // The measurements are done and still get written: a missing plotting library costs only the figures.
    ctx.io.stderr(`lockstep: figures not drawn: ${(e as Error).message}\n`);
  }
  if (ctx.png && !canWritePng()) ctx.io.stderr('lockstep: --png: rsvg-convert not found (Debian: apt-get install librsvg2-bin); SVG only\n');
  return written;
}

/** A path for messages: relative to the working directory when inside it. */
function shown(cwd: string, f: string): string {
  const rel = path.relative(cwd, f);
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? f : rel;
}

function finish(ctx: Ctx, name: string, report: { rows: unknown[] }, text: string, files: string[]): void {
  const figs = files.map((f) => shown(ctx.io.cwd, f));
  const json = writeJson(ctx.outDir, name, { ...report, figures: figs });
  if (ctx.o.json) {
    ctx.io.stdout(`${JSON.stringify({ ...report, json: shown(ctx.io.cwd, json), figures: figs })}\n`);
  } else {
    ctx.io.stdout(text);
    ctx.io.stdout(`results: ${shown(ctx.io.cwd, json)}${figs.length > 0 ? `\nfigures: ${figs.join(', ')}` : ''}\n`);
  }
}

async function speed(ctx: Ctx): Promise<BenchReport> {
  const { o } = ctx;
  const quick = o.quick === true;
  const cwd = ctx.io.cwd;
  const models = quick ? modelDrafters(o as { catalog?: string; target?: string }, cwd).slice(0, 1) : [];
  const r = await runBench({
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, threads: o.threads as number | undefined, fim: o.fim as string | undefined,
    variant: o.variant as string | undefined, 'drafter-variant': o['drafter-variant'] as string | undefined,
    device: o.device as DeviceRequest | undefined,
    drafters: list<string>(o.drafter) ?? (quick ? ['prompt-lookup', ...models] : undefined),
    couplings: list(o.coupling) ?? (quick ? ['gumbel', 'standard'] : undefined),
    gammas: list(o.gamma) ?? (quick ? [2, 'auto'] : undefined),
    temperatures: list(o.temperature) ?? (quick ? [0, 0.7] : undefined),
    topP: o['top-p'] as number | undefined, topK: o['top-k'] as number | undefined,
    prompts: (o.prompts as number | undefined) ?? (quick ? 2 : undefined),
    maxTokens: (o['max-tokens'] as number | undefined) ?? (quick ? 16 : undefined),
    mode: o.mode as BenchReport['mode'] | undefined, argv: ctx.argv, onProgress: ctx.onProgress,
  }, cwd);
  finish(ctx, 'speed', r, formatBench(r), await figures(ctx, FIGURES.speed(r, ctx.note)));
  return r;
}

async function coupling(ctx: Ctx): Promise<CouplingReport> {
  const { o } = ctx;
  const quick = o.quick === true;
  const r = await runCoupling({
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, threads: o.threads as number | undefined, fim: o.fim as string | undefined,
    variant: o.variant as string | undefined, 'drafter-variant': o['drafter-variant'] as string | undefined,
    drafters: list(o.drafter), temperatures: list(o.temperature),
    prompts: (o.prompts as number | undefined) ?? (quick ? 1 : undefined),
    positions: (o.positions as number | undefined) ?? (quick ? 8 : undefined),
    trials: (o.trials as number | undefined) ?? (quick ? 2000 : undefined),
    argv: ctx.argv, onProgress: ctx.onProgress,
  }, ctx.io.cwd);
  finish(ctx, 'coupling', r, formatCoupling(r), await figures(ctx, FIGURES.coupling(r, ctx.note)));
  return r;
}

async function overhead(ctx: Ctx): Promise<OverheadReport> {
  const { o } = ctx;
  const quick = o.quick === true;
  const r = await runOverhead({
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, threads: o.threads as number | undefined, fim: o.fim as string | undefined,
    variant: o.variant as string | undefined, 'drafter-variant': o['drafter-variant'] as string | undefined,
    drafter: o.drafter as string | undefined,
    prompts: (o.prompts as number | undefined) ?? (quick ? 1 : undefined),
    maxTokens: (o['max-tokens'] as number | undefined) ?? (quick ? 16 : undefined),
    allocCalls: (o['alloc-calls'] as number | undefined) ?? (quick ? 100 : undefined),
    argv: ctx.argv, onProgress: ctx.onProgress,
  }, ctx.io.cwd);
  finish(ctx, 'overhead', r, formatOverhead(r), await figures(ctx, FIGURES.overhead(r, ctx.note)));
  return r;
}

async function invariance(ctx: Ctx): Promise<InvarianceReport> {
  const { o } = ctx;
  const quick = o.quick === true;
  const cwd = ctx.io.cwd;
  const models = quick ? modelDrafters(o as { catalog?: string; target?: string }, cwd).slice(0, 1) : [];
  const r = await runInvariance({
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, threads: o.threads as number | undefined, fim: o.fim as string | undefined,
    variant: o.variant as string | undefined, 'drafter-variant': o['drafter-variant'] as string | undefined,
    device: o.device as DeviceRequest | undefined,
    drafters: list<string>(o.drafter) ?? (quick ? [...models, 'prompt-lookup'] : undefined),
    couplings: list(o.coupling), gammas: list(o.gamma) ?? (quick ? [1, 3] : undefined),
    temperatures: list(o.temperature) ?? (quick ? [0, 0.7] : undefined),
    topP: o['top-p'] as number | undefined, topK: o['top-k'] as number | undefined,
    maxTokens: (o['max-tokens'] as number | undefined) ?? (quick ? 12 : undefined), mode: o.mode as InvarianceReport['mode'] | undefined,
    cases: o.cases as number | undefined,
    minComparisons: (o['min-comparisons'] as number | undefined) ?? (quick ? 32 : undefined),
    argv: ctx.argv, onProgress: ctx.onProgress,
  }, cwd);
  finish(ctx, 'invariance', r, formatInvariance(r), await figures(ctx, FIGURES.invariance(r, ctx.note)));
  return r;
}

async function latency(ctx: Ctx): Promise<LatencyReport> {
  const { o } = ctx;
  const quick = o.quick === true;
  const r = await runLatency({
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, threads: o.threads as number | undefined, fim: o.fim as string | undefined,
    variant: o.variant as string | undefined, 'drafter-variant': o['drafter-variant'] as string | undefined,
    drafters: list(o.drafter), coupling: o.coupling as LatencyReport['coupling'] | undefined,
    temperature: o.temperature as number | undefined, gamma: o.gamma as number | 'auto' | undefined,
    prompts: (o.prompts as number | undefined) ?? (quick ? 3 : undefined),
    maxTokens: (o['max-tokens'] as number | undefined) ?? (quick ? 16 : undefined), argv: ctx.argv, onProgress: ctx.onProgress,
  }, ctx.io.cwd);
  finish(ctx, 'latency', r, formatLatency(r), await figures(ctx, FIGURES.latency(r, ctx.note)));
  return r;
}

async function quality(ctx: Ctx): Promise<QualityReport> {
  const { o } = ctx;
  const q = o.quick === true ? QUALITY_QUICK : undefined;
  const num = (k: string, d?: number) => (o[k] as number | undefined) ?? d;
  const r = await runQuality({
    catalog: o.catalog as string | undefined, target: o.target as string | undefined, threads: o.threads as number | undefined, fim: o.fim as string | undefined,
    packages: list(o.package), crossFile: num('cross-file', q?.crossFile), random: num('random', q?.random), seeds: num('seeds', q?.seeds),
    temperature: num('temperature'), lineTokens: num('line-tokens', q?.lineTokens), blockTokens: num('block-tokens', q?.blockTokens),
    argv: ctx.argv, onProgress: ctx.onProgress,
  }, ctx.io.cwd);
  finish(ctx, 'quality', r, formatQuality(r), await figures(ctx, FIGURES.quality(r, ctx.note)));
  return r;
}

const RUN: Record<Sub, (ctx: Ctx) => Promise<{ rows: unknown[] }>> = { speed, coupling, overhead, invariance, latency, quality };

/** What `lockstep bench all <argv>` passes to one benchmark (exported for tests). */
export function argvForAll(sub: string, argv: string[]): string[] {
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown bench '${sub}'`);
  return forward(sub as Sub, A.parseArgs(argv, allDefs).options as Opts);
}

/** The argv of one sub-command from the options `all` parsed: only the options that sub-command takes. */
function forward(sub: Sub, o: Opts): string[] {
  const defs = DEFS[sub];
  const argv: string[] = [];
  for (const [name, d] of Object.entries(defs)) {
    const v = o[name];
    if (d.kind === 'flag') {
      if (v === true) argv.push(`--${name}`);
      continue;
    }
    const values = Array.isArray(v) ? v : v === undefined ? [] : [v];
    if (values.length === 0) continue;
    if (!d.repeatable && values.length > 1) throw new UsageError(`bench ${sub} takes one --${name} (got ${values.join(', ')})`);
    for (const x of values) argv.push(`--${name}`, String(x));
  }
  return argv;
}

export async function benchCommand(argv: string[], io: CliIo): Promise<number> {
  let sub: Sub | 'all' = 'speed';
  let rest = argv;
  if (argv.length > 0 && !argv[0].startsWith('-')) {
    const s = argv[0];
    if (s === 'report') return await reportCommand(argv.slice(1), io);
    if (s === 'soak') return await soakCommand(argv.slice(1), io);
    if (s === 'serve') return await serveBenchCommand(argv.slice(1), io);
    if (s === 'realsize') return await realsizeCommand(argv.slice(1), io, A.describeOptions);
    if (s === 'exactness') return await exactnessCommand(argv.slice(1), io, A.describeOptions);
    if (s === 'peer' || s === 'breakdown' || s === 'callcost') return await peerCommand(s, argv.slice(1), io);
    if (MEASURE_COMMANDS.includes(s)) return await measureCommand(s, argv.slice(1), io);
    if (s !== 'all' && !(SUBCOMMANDS as readonly string[]).includes(s)) throw new UsageError(`unknown bench '${s}' (${ALL_SUBS}; see 'lockstep bench --help')`);
    sub = s as Sub | 'all';
    rest = argv.slice(1);
  }
  const { options, positionals } = A.parseArgs(rest, sub === 'all' ? allDefs : DEFS[sub]);
  const o = options as Opts;
  if (o.help) {
    io.stdout(`${benchHelp(sub)}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench ${sub} takes no arguments (got '${positionals[0]}')`);
  if (sub !== 'all') {
    const report = await RUN[sub](context(sub, o, rest, io));
    return sub === 'invariance' && (report as InvarianceReport).differing > 0 ? 1 : 0;
  }
  // all: one benchmark after another; with --json one object keyed by benchmark.
  const results: Record<string, unknown> = {};
  let status = 0;
  for (const s of SUBCOMMANDS) {
    const sArgv = forward(s, o);
    const { options: so } = A.parseArgs(sArgv, DEFS[s]);
    const captured: string[] = [];
    const subIo: CliIo = o.json ? { ...io, stdout: (t) => void captured.push(t) } : io;
    if (!o.json) io.stdout(`\n== lockstep ${['bench', s, ...sArgv].join(' ')}\n`);
    const report = await RUN[s](context(s, so as Opts, sArgv, subIo));
    if (o.json) results[s] = JSON.parse(captured.join(''));
    if (s === 'invariance' && (report as InvarianceReport).differing > 0) status = 1;
  }
  if (o.json) io.stdout(`${JSON.stringify({ benches: results, rows: Object.values(results).flatMap((r) => (r as { rows: unknown[] }).rows) })}\n`);
  return status;
}

/** The figures of each benchmark, from its report. */
const FIGURES: Record<Sub, (r: any, note: string) => [string, VegaLiteSpec][]> = {
  speed: (r: BenchReport, note) => [['speed', speedFigure(r, note)]],
  coupling: (r: CouplingReport, note) => {
    const specs: [string, VegaLiteSpec][] = [];
    for (const d of r.drafters) {
      const prompts = [...new Set(r.completions.filter((c) => c.drafter === d).map((c) => c.prompt))];
      prompts.forEach((p, i) => specs.push([`coupling-${d}-prompt${i + 1}`, couplingFigure(r, d, p, note)]));
    }
    specs.push(['coupling-vs-tv', couplingSummaryFigure(r, note)]);
    return specs;
  },
  overhead: (r: OverheadReport, note) => [['overhead', overheadFigure(r, note)]],
  invariance: (r: InvarianceReport, note) => [['invariance', invarianceFigure(r, note)]],
  latency: (r: LatencyReport, note) => [['latency', latencyFigure(r, note)]],
  quality: (r: QualityReport, note) => [['quality', qualityFigure(r, note)]],
};

async function soakCommand(argv: string[], io: CliIo): Promise<number> {
  const { options, positionals } = A.parseArgs(argv, soakDefs);
  const o = options as Opts;
  if (o.help) {
    io.stdout(`${benchHelp('soak')}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench soak takes no arguments (got '${positionals[0]}')`);
  const ctx = context('soak', { ...o, 'no-figures': true }, argv, io);
  const quick = o.quick === true;
  const keystrokes = list<number>(o.keystrokes);
  const debounceMs = list<number>(o.debounce);
  const hog = list<string>(o.hog)?.map((x) => x === 'on');
  // --quick alone: its two scenarios; with any of the lists, the lists (at the quick size).
  const quickScenarios = quick && !keystrokes && !debounceMs && !hog
    ? SOAK_QUICK.scenarios.map((x) => ({ ...x, keystrokes: SOAK_QUICK.keystrokes[0] }))
    : undefined;
  const r = await runSoak({
    keystrokes: keystrokes ?? (quick ? SOAK_QUICK.keystrokes : undefined), debounceMs, hog, scenarios: quickScenarios,
    intervalMs: o.interval as number | undefined, jitterMs: o.jitter as number | undefined, linePauseMs: o['line-pause'] as number | undefined,
    waitSeconds: (o.wait as number | undefined) ?? (quick ? SOAK_QUICK.waitSeconds : undefined),
    threads: o.threads as number | undefined, device: o.device as string | undefined, target: o.target as string | undefined,
    hogProcesses: o['hog-processes'] as number | undefined, seed: o.seed as number | undefined,
    extension: o.extension === undefined ? undefined : path.resolve(io.cwd, o.extension as string),
    argv: ctx.argv, onProgress: ctx.onProgress, onNote: o.quiet ? undefined : (line) => io.stderr(`[soak] ${line}\n`),
  });
  finish(ctx, 'soak', r, formatSoak(r), []);
  return 0;
}

async function reportCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, reportDefs);
  if (o.help) {
    io.stdout(`${benchHelp('report')}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench report takes no arguments (got '${positionals[0]}')`);
  const dir = path.resolve(io.cwd, o.out ?? '.bench-results');
  if (!fs.existsSync(dir)) throw new UsageError(`no results in ${dir}: run the benchmarks first (npm run bench)`);
  if (o.redraw) {
    const mediaDir = path.resolve(io.cwd, o.media ?? 'media');
    for (const sub of SUBCOMMANDS) {
      const file = path.join(dir, `${sub}.json`);
      if (!fs.existsSync(file)) continue;
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { figures?: string[] };
      const written: string[] = [];
      for (const [name, spec] of FIGURES[sub](r, o.note ?? '')) written.push(...(await writeFigure(mediaDir, name, spec, o.png)));
      // The result file lists the figures drawn from it (the report links them).
      r.figures = written.map((f) => shown(io.cwd, f));
      fs.writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
      io.stderr(`redrew ${r.figures.join(', ')}\n`);
    }
  }
  // Figure links are relative to the file the report goes to (bench/RESULTS.md links ../media/…), else to the root.
  const md = resultsMarkdown({ dir, note: o.note, cwd: io.cwd, root: o.write !== undefined ? path.dirname(path.resolve(io.cwd, o.write)) : packageRoot() });
  if (o.write !== undefined) {
    fs.writeFileSync(path.resolve(io.cwd, o.write), md);
    io.stdout(`wrote ${o.write}\n`);
  } else {
    io.stdout(md);
  }
  return 0;
}
