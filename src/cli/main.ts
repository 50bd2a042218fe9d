/**
 * The `lockstep` command line: complete, verify, bench.
 *
 *   lockstep complete <file>:<line>:<col>   one completion at a cursor (1-based line and column)
 *   lockstep verify                         the same prompts and seeds through several drafters/couplings/γ:
 *                                           the text must be byte-identical (drafter invariance)
 *   lockstep bench [sub-command]            the benchmarks (speed, coupling, overhead, invariance, latency, soak): bench/
 *   lockstep download <id>...               fetch catalog models from the Hugging Face Hub (src/models/downloadCommand.ts)
 *
 * main() returns the exit code; every error is one line on stderr (`lockstep: <message>`), with the stack only
 * under --debug.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CompletionMode, CompletionRequest, CompletionResult, DrafterSpec, Engine } from '../engine/engine';
import { CouplingKind } from '../engine/types';
import { DEVICE_REQUESTS, DeviceOutcome, DeviceRequest, describeOutcome } from '../engine/device';
import {
  Catalog, CatalogEntry, downloadedDeviceVariants, entryForDir, entryStatus, findEntry, loadCatalog, packageRoot, ResolvedModel, resolveModel, resolveModelDir,
} from '../models/catalog';
import * as A from './args';
import { UsageError } from './args';
import { benchCommand, benchHelp } from '../../bench/cli';
import { downloadCommand, downloadHelp } from '../models/downloadCommand';

// ---------------------------------------------------------------- I/O

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input (for `complete -`). */
  readStdin(): Promise<string>;
  cwd: string;
}

function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    readStdin: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
      }),
    cwd: process.cwd(),
  };
}

/** An error the user caused or can fix; printed without a stack. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

// ---------------------------------------------------------------- options

const COUPLINGS = ['gumbel', 'wmh', 'standard'] as const;
const MODES = ['line', 'block', 'free'] as const;

const common = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces and engine details on errors'),
  json: A.flag('print one JSON object instead of text'),
  catalog: A.single(A.str, 'FILE', 'model catalog (default: models.json of the package)'),
  target: A.single(A.str, 'MODEL', 'target model: catalog id or model directory (default lockstep-target)'),
  threads: A.single(A.threads, 'N', 'intra-op threads per model (0 = onnxruntime default)'),
  device: A.single(A.choice(DEVICE_REQUESTS), 'DEVICE', 'auto | cpu | webgpu | cuda | dml | coreml (default cpu; falls back to the CPU, saying why)'),
  fim: A.single(A.str, 'NAME', 'FIM template (default: from the catalog or the tokenizer)'),
  'top-p': A.single(A.topP, 'P', 'nucleus sampling mass, 0 < P ≤ 1 (default 1 = off)'),
  'top-k': A.single(A.topK, 'K', 'keep the K most likely tokens (default 0 = off)'),
  'max-tokens': A.single(A.maxTokens, 'N', 'most tokens to generate, 1..4096'),
  mode: A.single(A.choice(MODES), 'MODE', 'stop rule: line | block | free'),
};

const completeDefs = {
  ...common,
  drafter: A.single(A.str, 'DRAFTER', 'none | prompt-lookup | catalog id | directory | prompt-lookup+<id> (default: the target\'s first recommended drafter)'),
  seed: A.single(A.seed, 'N', 'public-randomness seed (default 0)'),
  temperature: A.single(A.temperature, 'T', 'sampling temperature, 0 = greedy (default 0.2)'),
  gamma: A.single(A.gamma, 'G', 'drafts per round, 0..32 or auto (default auto)'),
  coupling: A.single(A.choice(COUPLINGS), 'KIND', 'gumbel | wmh | standard (default gumbel)'),
  prefix: A.single(A.str, 'TEXT', 'text before the cursor (instead of a file)'),
  suffix: A.single(A.str, 'TEXT', 'text after the cursor (with --prefix or -)'),
};

const verifyDefs = {
  ...common,
  drafter: A.repeated(A.str, 'DRAFTER', 'drafters to compare (repeatable; default: every shipped drafter, none, prompt-lookup)'),
  coupling: A.repeated(A.choice(COUPLINGS), 'KIND', 'couplings (repeatable; default gumbel,wmh)'),
  gamma: A.repeated(A.gamma, 'G', 'γ values (repeatable or comma list; default 1,3,6)'),
  temperature: A.repeated(A.temperature, 'T', 'temperatures (repeatable or comma list; default 0,0.7)'),
  cases: A.single(A.positiveInt, 'N', 'number of (prompt, seed) cases, seeds 0..N−1 (default 20)'),
  file: A.repeated(A.str, 'FILE:LINE:COL', 'prompt positions (repeatable; default: held-out fixtures)', false),
};

// ---------------------------------------------------------------- help

const USAGE = `lockstep — local code completion with drafter-invariant speculative decoding

Usage:
  lockstep complete <file>:<line>:<col> [options]   complete at a cursor (1-based line and column)
  lockstep complete - [options]                      text before the cursor from stdin (or -:<line>:<col>)
  lockstep complete --prefix TEXT [--suffix TEXT]    text around the cursor given directly
  lockstep verify [options]                          check that every drafter gives byte-identical text
  lockstep bench [speed|coupling|overhead|invariance|latency|all|soak] [options]
                                                     benchmarks: speedup, coupling quality, overhead, invariance, latency;
                                                     soak: typing against the real extension
  lockstep download <id>... [options]                download catalog models from the Hugging Face Hub (--list: what there is)
  lockstep help [command]                            this help, or a command's options
  lockstep --version

Models are catalog ids (models.json) or local directories in the Hugging Face ONNX layout.
Run 'lockstep help <command>' for its options.`;

function commandHelp(cmd: 'complete' | 'verify' | 'bench'): string {
  if (cmd === 'bench') return benchHelp();
  const defs = cmd === 'complete' ? completeDefs : verifyDefs;
  const head: Record<typeof cmd, string> = {
    complete: 'Usage: lockstep complete (<file>:<line>:<col> | - | --prefix TEXT) [options]',
    verify: 'Usage: lockstep verify [options]\n' +
      'For each case (prompt, seed), coupling and temperature the reference is the text of the "none" drafter\n' +
      '(autoregressive decoding); every other drafter and γ must give the same bytes. Exit status 1 on any mismatch.',
  };
  return `${head[cmd]}\n\nOptions:\n${A.describeOptions(defs)}`;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- entry point

export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const out: CliIo = { ...processIo(), ...io };
  const debug = argv.includes('--debug');
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '--help' || cmd === '-h') {
      out.stdout(`${USAGE}\n`);
      return 0;
    }
    if (cmd === 'help') {
      const sub = rest[0];
      if (sub === undefined) out.stdout(`${USAGE}\n`);
      else if (sub === 'complete' || sub === 'verify' || sub === 'bench') out.stdout(`${commandHelp(sub)}\n`);
      else if (sub === 'download') out.stdout(`${downloadHelp()}\n`);
      else throw new UsageError(`unknown command '${sub}' (commands: complete, verify, bench, download)`);
      return 0;
    }
    if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
      out.stdout(`lockstep ${packageVersion()}\n`);
      return 0;
    }
    switch (cmd) {
      case 'complete':
        return await completeCommand(rest, out);
      case 'verify':
        return await verifyCommand(rest, out);
      case 'bench':
        return await benchCommand(rest, out);
      case 'download':
        return await downloadCommand(rest, out);
      default:
        if (cmd.startsWith('-')) throw new UsageError(`expected a command before ${cmd} (commands: complete, verify, bench, download)`);
        throw new UsageError(`unknown command '${cmd}' (commands: complete, verify, bench, download; see 'lockstep --help')`);
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    out.stderr(`lockstep: ${oneLine(err.message)}\n`);
    if (debug && err.stack) out.stderr(`${err.stack}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

// ---------------------------------------------------------------- cursor positions

export interface PromptText {
  /** Where it came from (file:line:col, stdin, --prefix …). */
  label: string;
  before: string;
  after: string;
}

/** Splits `text` at a 1-based line and column (column in characters; line length + 1 = end of line). */
export function splitAtCursor(text: string, line: number, col: number, label: string): PromptText {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const lines = starts.length;
  if (!Number.isSafeInteger(line) || line < 1 || line > lines) {
    throw new CliError(`${label}: line ${line} is out of range (the file has ${lines} line${lines === 1 ? '' : 's'})`);
  }
  const start = starts[line - 1];
  let end = line < lines ? starts[line] - 1 : text.length;
  if (end > start && text[end - 1] === '\r') end--;
  const chars = Array.from(text.slice(start, end));
  if (!Number.isSafeInteger(col) || col < 1 || col > chars.length + 1) {
    throw new CliError(`${label}: column ${col} is out of range (line ${line} has ${chars.length} character${chars.length === 1 ? '' : 's'}; use 1..${chars.length + 1})`);
  }
  const offset = start + chars.slice(0, col - 1).join('').length;
  return { label, before: text.slice(0, offset), after: text.slice(offset) };
}

/** "path:line:col" → parts (the path may itself contain ':', e.g. C:\x.js:3:4). */
export function parsePosition(spec: string): { file: string; line: number; col: number } | undefined {
  const m = /^(.*):(\d+):(\d+)$/.exec(spec);
  if (!m || m[1] === '') return undefined;
  return { file: m[1], line: Number(m[2]), col: Number(m[3]) };
}

function readText(file: string, cwd: string): string {
  const abs = path.resolve(cwd, file);
  try {
    if (fs.statSync(abs).isDirectory()) throw new CliError(`cannot read ${file}: it is a directory`);
    return fs.readFileSync(abs, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
}

function promptAtPosition(spec: string, cwd: string): PromptText {
  const pos = parsePosition(spec);
  if (!pos) throw new UsageError(`expected <file>:<line>:<col> (1-based), got '${spec}'`);
  return splitAtCursor(readText(pos.file, cwd), pos.line, pos.col, spec);
}

// ---------------------------------------------------------------- fixture prompts

/** A small seeded generator (mulberry32) for choosing fixture positions reproducibly. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fixtureDir(): string {
  return path.join(packageRoot(), 'test', 'fixtures');
}

const COMMENT_START = /^(\/\/|\/\*|\*|#|<!--|--|"""|''')/;

/**
 * Deterministic prompts from the held-out fixtures: a seeded choice of code lines inside a block (indented,
 * not comments, not bare brackets); the cursor sits after the line's indentation and the rest of that line is
 * removed, so the model has to write the line (the text after the cursor starts at the line's end).
 */
export function fixturePrompts(count: number, seed = 1, dir = fixtureDir()): PromptText[] {
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
  } catch {
    throw new CliError(`no fixture prompts: cannot read ${dir} (give positions with --file <file>:<line>:<col>)`);
  }
  const candidates: PromptText[] = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n');
    const lines = text.split('\n');
    let offset = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const indent = /^[ \t]*/.exec(line)![0];
      const body = line.slice(indent.length);
      if (i >= 4 && indent.length > 0 && body.length >= 8 && !COMMENT_START.test(body) && /[A-Za-z_$]/.test(body)) {
        candidates.push({
          label: `${f}:${i + 1}:${indent.length + 1}`,
          before: text.slice(0, offset + indent.length),
          after: text.slice(offset + line.length),
        });
      }
      offset += line.length + 1;
    }
  }
  if (candidates.length === 0) throw new CliError(`no usable fixture prompts in ${dir}`);
  const rand = mulberry32(seed);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
  }
  return Array.from({ length: count }, (_, i) => candidates[i % candidates.length]);
}

// ---------------------------------------------------------------- engines and drafters

export interface DrafterPlan {
  /** As the user wrote it. */
  spec: string;
  /** The name complete() gets. */
  requestName: string;
  /** Model directories to load with addDrafter (name → dir). */
  load?: DrafterSpec;
}

export interface EngineSetup {
  engine: Engine;
  catalog: Catalog;
  targetSpec: string;
  targetDir: string;
  targetEntry?: CatalogEntry;
  drafters: DrafterPlan[];
}

const BUILTIN_DRAFTERS = new Set(['none', 'prompt-lookup']);

function openCatalog(file: string | undefined, cwd: string): Catalog {
  return loadCatalog(file === undefined ? undefined : path.resolve(cwd, file));
}

/** The catalog entry for a model spec (an id, or a directory that is some entry's bundled directory). */
function entryFor(catalog: Catalog, spec: string, dir: string): CatalogEntry | undefined {
  return findEntry(catalog, spec) ?? entryForDir(catalog, dir);
}

/** The drafters a target's catalog entry recommends that are available here, best first. */
function recommendedDrafters(catalog: Catalog, target: CatalogEntry | undefined): string[] {
  return (target?.recommendedDrafters ?? []).filter((id) => {
    const e = findEntry(catalog, id);
    return e !== undefined && entryStatus(catalog, e).available;
  });
}

/** Every shipped (bundled, present) drafter of the target's tokenizer family. */
function shippedDrafters(catalog: Catalog, target: CatalogEntry | undefined): string[] {
  const rec = recommendedDrafters(catalog, target);
  const others = catalog.models
    .filter((m) => m.role !== 'target' && m.bundled && (!target || m.family === target.family) && entryStatus(catalog, m).available)
    .map((m) => m.id)
    .filter((id) => !rec.includes(id))
    .sort();
  return [...rec, ...others];
}

/** A downloaded catalog model's variant per device (only variants present in its resolved snapshot). */
function deviceVariantsOf(catalog: Catalog, spec: string, dir: string): DrafterSpec['variants'] {
  const entry = findEntry(catalog, spec);
  return entry ? downloadedDeviceVariants(entry, dir) : undefined;
}

function planDrafter(spec: string, catalog: Catalog, cwd: string): DrafterPlan {
  if (BUILTIN_DRAFTERS.has(spec)) return { spec, requestName: spec };
  const lookup = spec.startsWith('prompt-lookup+');
  const model = lookup ? spec.slice('prompt-lookup+'.length) : spec;
  if (model === '') throw new UsageError(`drafter '${spec}' names no model after 'prompt-lookup+'`);
  let resolved: ResolvedModel;
  try {
    resolved = resolveModel(model, catalog, cwd);
  } catch (e) {
    throw new CliError(`drafter: ${(e as Error).message}`);
  }
  return {
    spec, requestName: lookup ? `prompt-lookup+${model}` : model,
    load: { name: model, dir: resolved.dir, variant: resolved.variant, variants: deviceVariantsOf(catalog, model, resolved.dir) },
  };
}

interface ModelOptions {
  catalog?: string;
  target?: string;
  threads?: number;
  fim?: string;
  /** Execution device (default cpu; auto tries the GPU providers, then the CPU). */
  device?: DeviceRequest;
}

export async function openEngine(opts: ModelOptions, drafterSpecs: string[], cwd: string): Promise<EngineSetup> {
  const catalog = openCatalog(opts.catalog, cwd);
  const targetSpec = opts.target ?? 'lockstep-target';
  let target: ResolvedModel;
  try {
    target = resolveModel(targetSpec, catalog, cwd);
  } catch (e) {
    throw new CliError(`target: ${(e as Error).message}`);
  }
  const targetDir = target.dir;
  const targetEntry = entryFor(catalog, targetSpec, targetDir);
  const plans = drafterSpecs.map((s) => planDrafter(s, catalog, cwd));
  // Catalog families settle tokenizer compatibility before anything loads; the engine checks the vocabulary itself.
  for (const p of plans) {
    if (!p.load || !targetEntry) continue;
    const de = entryFor(catalog, p.load.name, p.load.dir);
    if (de && de.family !== targetEntry.family) {
      throw new CliError(
        `drafter '${p.load.name}' (tokenizer family ${de.family}) cannot draft for target '${targetEntry.id}' ` +
          `(family ${targetEntry.family}): speculative decoding needs one shared vocabulary`,
      );
    }
  }
  const engine = await Engine.create({
    target: targetDir, variant: target.variant, threads: opts.threads, fim: opts.fim ?? targetEntry?.fim,
    device: opts.device, variants: deviceVariantsOf(catalog, targetSpec, targetDir),
  });
  try {
    const loaded = new Set<string>();
    for (const p of plans) {
      if (!p.load || loaded.has(p.load.name)) continue;
      await engine.addDrafter(p.load);
      loaded.add(p.load.name);
    }
  } catch (e) {
    await engine.dispose().catch(() => undefined);
    throw e;
  }
  return { engine, catalog, targetSpec, targetDir, targetEntry, drafters: plans };
}

// ---------------------------------------------------------------- complete

function defaultDrafter(catalog: Catalog, targetSpec: string | undefined, cwd: string): string {
  const spec = targetSpec ?? 'lockstep-target';
  let entry: CatalogEntry | undefined;
  try {
    entry = entryFor(catalog, spec, resolveModelDir(spec, catalog, cwd));
  } catch {
    entry = findEntry(catalog, spec); // the target's own error comes later, from openEngine
  }
  return recommendedDrafters(catalog, entry)[0] ?? 'prompt-lookup';
}

async function completeCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, completeDefs);
  if (o.help) {
    io.stdout(`${commandHelp('complete')}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`complete takes one <file>:<line>:<col>, got ${positionals.length} arguments`);
  let prompt: PromptText;
  const pos = positionals[0];
  if (pos !== undefined) {
    if (o.prefix !== undefined) throw new UsageError('give either <file>:<line>:<col> or --prefix, not both');
    if (pos === '-') {
      prompt = { label: 'stdin', before: await io.readStdin(), after: o.suffix ?? '' };
    } else if (pos.startsWith('-:')) {
      const p = parsePosition(`stdin${pos.slice(1)}`);
      if (!p) throw new UsageError(`expected -:<line>:<col>, got '${pos}'`);
      prompt = splitAtCursor(await io.readStdin(), p.line, p.col, `stdin:${p.line}:${p.col}`);
    } else {
      if (o.suffix !== undefined) throw new UsageError('--suffix goes with --prefix or -, not with a file position');
      prompt = promptAtPosition(pos, io.cwd);
    }
  } else if (o.prefix !== undefined) {
    prompt = { label: '--prefix', before: o.prefix, after: o.suffix ?? '' };
  } else {
    throw new UsageError('nothing to complete: give <file>:<line>:<col>, - (stdin) or --prefix TEXT');
  }

  const catalog = openCatalog(o.catalog, io.cwd);
  const drafter = o.drafter ?? defaultDrafter(catalog, o.target, io.cwd);
  const setup = await openEngine(o, [drafter], io.cwd);
  try {
    const plan = setup.drafters[0];
    const req: CompletionRequest = {
      before: prompt.before,
      after: prompt.after,
      drafter: plan.requestName,
      coupling: o.coupling ?? 'gumbel',
      seed: o.seed ?? 0,
      sampling: { temperature: o.temperature ?? 0.2, topP: o['top-p'] ?? 1, topK: o['top-k'] ?? 0 },
      gamma: o.gamma ?? 'auto',
      maxTokens: o['max-tokens'] ?? 64,
      mode: o.mode ?? 'block',
    };
    const device = setup.engine.info().device;
    if (device.fellBack) io.stderr(`lockstep: ${describeOutcome(device)}\n`);
    const r = await setup.engine.complete(req);
    if (o.json) {
      io.stdout(`${JSON.stringify({
        ...r,
        device: device.used,
        drafter: plan.spec,
        target: setup.targetSpec,
        targetDir: setup.targetDir,
        position: prompt.label,
        temperature: req.sampling.temperature,
        topP: req.sampling.topP,
        topK: req.sampling.topK,
        gamma: req.gamma,
        mode: req.mode,
        maxTokens: req.maxTokens,
      })}\n`);
    } else {
      io.stdout(r.text);
      const sep = r.text.endsWith('\n') || r.text === '' ? '' : '\n';
      io.stderr(`${sep}${statsLine(r, plan.spec)}\n`);
    }
    if (o.debug) io.stderr(`[debug] ${JSON.stringify(setup.engine.info())}\n`);
    return 0;
  } finally {
    await setup.engine.dispose();
  }
}

function statsLine(r: CompletionResult, drafter: string): string {
  const acc = r.drafted > 0 ? `${(100 * r.acceptance).toFixed(0)}% (${r.accepted}/${r.drafted})` : 'n/a (no drafts)';
  return `[${r.tokens} tokens · ${r.tokensPerSecond.toFixed(1)} tokens/s · acceptance ${acc} · ` +
    `${r.targetCalls} target calls · drafter ${drafter} · seed ${r.seed} · stop ${r.stopReason}]`;
}

// ---------------------------------------------------------------- verify

export interface VerifyOptions extends ModelOptions {
  drafters?: string[];
  couplings?: CouplingKind[];
  gammas?: (number | 'auto')[];
  temperatures?: number[];
  topP?: number;
  topK?: number;
  maxTokens?: number;
  mode?: CompletionMode;
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
    drafterSpecs = [...shippedDrafters(catalog, entry), 'none', 'prompt-lookup'];
  }
  drafterSpecs = [...new Set(drafterSpecs)];
  const couplings = v.couplings && v.couplings.length > 0 ? [...new Set(v.couplings)] : (['gumbel', 'wmh'] as CouplingKind[]);
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

  const setup = await openEngine(v, drafterSpecs.filter((d) => d !== 'none'), cwd);
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
  const total = cases.length * couplings.length * temperatures.length * compared.length * gammas.length;
  try {
    for (const c of cases) {
      for (const coupling of couplings) {
        for (const temperature of temperatures) {
          const base = {
            before: c.prompt.before, after: c.prompt.after, coupling, seed: c.seed,
            sampling: { temperature, topP, topK }, maxTokens, mode,
          };
          const ref = await setup.engine.complete({ ...base, drafter: 'none', gamma: 1 });
          referenceRuns++;
          if (ref.text === '') emptyReferences++;
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
  return {
    device: setup.engine.info().device, cases: comparisons, identical, mismatches, caseCount,
    prompts: [...new Set(cases.map((c) => c.prompt.label))], seeds: cases.map((c) => c.seed),
    target: setup.targetSpec, drafters: compared.map((p) => p.spec), couplings, gammas, temperatures, maxTokens, mode,
    referenceRuns, emptyReferences, rows: [...rows.values()], seconds: (performance.now() - t0) / 1000, verdict,
  };
}

async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, verifyDefs);
  if (o.help) {
    io.stdout(`${commandHelp('verify')}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`verify takes no arguments (got '${positionals[0]}'); use --file <file>:<line>:<col>`);
  const report = await runVerify({
    catalog: o.catalog, target: o.target, threads: o.threads, fim: o.fim, device: o.device,
    drafters: o.drafter, couplings: o.coupling, gammas: o.gamma, temperatures: o.temperature,
    topP: o['top-p'], topK: o['top-k'], maxTokens: o['max-tokens'], mode: o.mode, cases: o.cases, files: o.file,
  }, io.cwd);
  if (o.json) io.stdout(`${JSON.stringify(report)}\n`);
  else io.stdout(formatVerify(report));
  return report.mismatches.length === 0 ? 0 : 1;
}

export function formatVerify(r: VerifyReport): string {
  const lines: string[] = [];
  lines.push(describeOutcome(r.device));
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

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

// ---------------------------------------------------------------- bench

// `lockstep bench …` lives in bench/ (bench/cli.ts: speed, coupling, overhead, invariance, latency, all, report, soak).
