/**
 * Shared pieces of the benchmarks: the machine and commit a result was measured on, the models' fingerprints,
 * held-out prompts, statistics (medians, quantiles), text tables and result files.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OptionDefs, ParsedOptions } from '../src/cli/args';
import { PromptText, fixtureDir, fixturePrompts } from '../src/cli/prompts';
import { findOnnxFile } from '../src/engine/runtime/modelDir';
import { CatalogEntry, entryForDir, entryStatus, findEntry, loadCatalog, packageRoot, resolveModelDir } from '../src/models/catalog';

/** Where output goes: the CLI's stdout/stderr (captured in tests). */
export interface BenchIo {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
}

// ---------------------------------------------------------------- machine, commit, models

export interface MachineInfo {
  cpu: string;
  /** Logical CPUs (os.cpus().length). */
  cores: number;
  /** onnxruntime intra-op threads per model as requested (0 = onnxruntime's default). */
  threads: number;
  platform: string;
  arch: string;
  node: string;
  onnxruntime: string;
  memoryGiB: number;
  /** 1-, 5- and 15-minute load averages when the run started (a busy machine reads slower). */
  loadAverage: number[];
}

export function machineInfo(threads = 0): MachineInfo {
  const cpus = os.cpus();
  let ort = 'unknown';
  try {
    ort = (JSON.parse(fs.readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // not resolvable from a bundle in an odd place: leave it unknown
  }
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    threads,
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    node: process.version,
    onnxruntime: ort,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function machineLine(m: MachineInfo, commit: CommitInfo): string {
  const threads = m.threads === 0 ? 'onnxruntime default threads' : `${m.threads} thread${m.threads === 1 ? '' : 's'} per model`;
  return `${m.cpu} × ${m.cores} logical CPUs (${threads}), ${m.platform}, node ${m.node}, onnxruntime ${m.onnxruntime}, ` +
    `load ${m.loadAverage.join(' ')}; commit ${commit.sha ? commit.sha.slice(0, 12) : 'none'}${commit.dirty ? ' (+ uncommitted changes)' : ''}`;
}

export interface CommitInfo {
  sha: string | null;
  /** The working tree differs from the commit (the numbers may come from uncommitted code or models). */
  dirty: boolean;
}

export function gitCommit(): CommitInfo {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).toString().trim();
  let sha: string | null = null;
  let dirty = false;
  try {
    sha = git(['rev-parse', '--verify', 'HEAD']) || null;
  } catch {
    sha = null;
  }
  try {
    // The benchmarks' own outputs (figures in media/, results in bench/results/) do not make the code dirty: in
    // `bench all` each command would otherwise see the previous one's figures as uncommitted changes.
    const changed = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)media', ':(exclude)bench/results', ':(exclude)bench/RESULTS.md']);
    dirty = changed !== '' || sha === null;
  } catch {
    dirty = true;
  }
  return { sha, dirty };
}

export interface ModelFingerprint {
  dir: string;
  /** First 16 hex digits of the SHA-256 of onnx/model.onnx (which weights produced the numbers). */
  onnxSha256: string;
  parameters?: number;
}

const fingerprints = new Map<string, ModelFingerprint>();

export function modelFingerprint(dir: string): ModelFingerprint {
  const cached = fingerprints.get(dir);
  if (cached) return cached;
  let onnxSha256 = 'unknown';
  try {
    const file = findOnnxFile(dir);
    const h = crypto.createHash('sha256');
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n = fs.readSync(fd, buf); n > 0; n = fs.readSync(fd, buf)) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    // External-data exports keep the weights next to the graph.
    if (fs.existsSync(`${file}_data`)) h.update(fs.readFileSync(`${file}_data`));
    onnxSha256 = h.digest('hex').slice(0, 16);
  } catch {
    // a model without a readable onnx file fails later, where the engine loads it
  }
  let parameters: number | undefined;
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { lockstep?: { parameters?: number } };
    parameters = cfg.lockstep?.parameters;
  } catch {
    parameters = undefined;
  }
  const fp = { dir: path.relative(packageRoot(), dir) || '.', onnxSha256, parameters };
  fingerprints.set(dir, fp);
  return fp;
}

/** The common head of every result file. */
export interface ReportHead {
  bench: string;
  /** The command that produced it (argv after `lockstep`). */
  command: string;
  date: string;
  machine: MachineInfo;
  commit: string | null;
  dirty: boolean;
  models: Record<string, ModelFingerprint>;
  seconds: number;
}

export function reportHead(bench: string, argv: readonly string[], threads: number, models: Record<string, string>, t0: number): ReportHead {
  const c = gitCommit();
  const fps: Record<string, ModelFingerprint> = {};
  for (const [name, dir] of Object.entries(models)) fps[name] = modelFingerprint(dir);
  return {
    bench, command: ['lockstep', ...argv].map(shellQuote).join(' '), date: new Date().toISOString(),
    machine: machineInfo(threads), commit: c.sha, dirty: c.dirty, models: fps, seconds: (performance.now() - t0) / 1000,
  };
}

export function headLines(h: ReportHead): string {
  const models = Object.entries(h.models).map(([n, m]) => `${n} ${m.dir} (onnx ${m.onnxSha256})`).join('; ');
  return `${machineLine(h.machine, { sha: h.commit, dirty: h.dirty })}\nmodels: ${models}\n`;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------- models

export interface ModelChoice {
  catalog?: string;
  target?: string;
}

/** The model options the engine benchmarks (coupling, latency, overhead) share. */
export interface BenchModelOptions extends ModelChoice {
  /** The target's and the model drafters' ONNX variants (--variant, --drafter-variant). */
  variant?: string;
  'drafter-variant'?: string;
  threads?: number;
  fim?: string;
}

/** The target's catalog entry (by id, or by its bundled directory), if any. */
function targetEntry(o: ModelChoice, cwd: string): CatalogEntry | undefined {
  const catalog = loadCatalog(o.catalog === undefined ? undefined : path.resolve(cwd, o.catalog));
  const spec = o.target ?? 'lockstep-target';
  try {
    const dir = resolveModelDir(spec, catalog, cwd);
    return findEntry(catalog, spec) ?? entryForDir(catalog, dir);
  } catch {
    return findEntry(catalog, spec);
  }
}

/**
 * The model drafters available for the target: its catalog recommendations first (best first), then every other
 * bundled drafter of its tokenizer family.
 */
export function modelDrafters(o: ModelChoice, cwd: string): string[] {
  const catalog = loadCatalog(o.catalog === undefined ? undefined : path.resolve(cwd, o.catalog));
  const target = targetEntry(o, cwd);
  const ok = (id: string) => {
    const e = findEntry(catalog, id);
    return e !== undefined && entryStatus(catalog, e).available;
  };
  const rec = (target?.recommendedDrafters ?? []).filter(ok);
  const others = catalog.models
    .filter((m) => m.role !== 'target' && m.bundled && (!target || m.family === target.family) && ok(m.id) && !rec.includes(m.id))
    .map((m) => m.id)
    .sort();
  return [...rec, ...others];
}

/** Absolute directory of a model spec (catalog id or directory). */
export function modelDir(spec: string, o: ModelChoice, cwd: string): string {
  const catalog = loadCatalog(o.catalog === undefined ? undefined : path.resolve(cwd, o.catalog));
  return resolveModelDir(spec, catalog, cwd);
}

// ---------------------------------------------------------------- prompts

const CODE_FILE = /\.(js|ts|mjs|cjs|jsx|tsx)\.txt$/;

/**
 * `count` held-out completion prompts: the cursor rule of `lockstep verify`'s fixturePrompts() (a seeded choice of
 * indented code lines, cursor after the indentation, the rest of the line removed) applied to the source files in
 * test/fixtures/heldout (licence texts and the README are left out), taken from the files in turn (one prompt per
 * file, then a second per file, …) so that a few prompts already span several files. Distinct prompts while they
 * last.
 */
export function heldoutPrompts(count: number, seed = 2): PromptText[] {
  const dir = path.join(fixtureDir(), 'heldout');
  const files = fs.readdirSync(dir).filter((f) => CODE_FILE.test(f)).sort();
  const byFile = new Map<string, PromptText[]>(files.map((f) => [f, []]));
  const seen = new Set<string>();
  for (const p of fixturePrompts(20_000, seed, dir)) {
    const list = byFile.get(p.label.replace(/:\d+:\d+$/, ''));
    if (!list || seen.has(p.label)) continue;
    seen.add(p.label);
    list.push(p);
  }
  const distinct: PromptText[] = [];
  for (let round = 0; distinct.length < seen.size; round++) {
    for (const f of files) {
      const p = byFile.get(f)![round];
      if (p) distinct.push(p);
    }
  }
  if (distinct.length === 0) throw new Error(`no held-out code prompts in ${dir}`);
  return Array.from({ length: count }, (_, i) => distinct[i % distinct.length]);
}

// ---------------------------------------------------------------- statistics

/** Linear-interpolated quantile (q in [0, 1]) of xs; 0 for an empty list. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo] + (s[hi] - s[lo]) * (h - lo);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

// ---------------------------------------------------------------- output

/** The CLI's text tables (src/cli/table.ts), shared with `lockstep verify`. */
export { table } from '../src/cli/table';

export function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`;
}

/** Writes `value` as pretty JSON to dir/name.json; returns the path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

/** A progress line on stderr at most every `everyMs` (and always for the last step). */
export function progress(io: BenchIo, label: string, everyMs = 5000): (done: number, total: number) => void {
  const t0 = performance.now();
  let last = t0;
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < everyMs) return;
    last = now;
    const s = (now - t0) / 1000;
    const eta = done > 0 && done < total ? `, ~${Math.ceil((s / done) * (total - done))} s left` : '';
    io.stderr(`[${label}] ${done}/${total} (${s.toFixed(0)} s${eta})\n`);
  };
}

// ---------------------------------------------------------------- single measurements

/**
 * A bench command that measures one thing and prints it (no JSON result, no figure): `lockstep bench <name>` with
 * its positional arguments and options (bench/measureCommands.ts lists them).
 */
export interface MeasureCommand<D extends OptionDefs = OptionDefs> {
  /** The usage line after `lockstep bench <name>`, e.g. "MODEL_DIR OUT.gguf [--type f32|q4_0]". */
  usage: string;
  /** What it measures, for the help (lines of at most ~120 characters). */
  about: string;
  options: D;
  run(options: ParsedOptions<D>, positionals: string[], io: BenchIo): Promise<void>;
}
