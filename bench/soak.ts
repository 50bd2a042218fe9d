/**
 * `lockstep bench soak` — the real extension (dist/extension.js from the bundle, out/src/vscode/extension.js from the
 * tsc output) activated against the stand-in `vscode` module (test/vscode/fakeVscode.ts) with the shipped models, and
 * a simulated fast typist: a held-out file is retyped character by character into a document, each keystroke
 * cancelling the previous inline-completion request's CancellationTokenSource (as VS Code does when a new request
 * supersedes it) and calling provideInlineCompletionItems (trigger Automatic) without awaiting the previous call.
 *
 * Everything is measured from outside the engine host, so the figures compare across engine implementations: the
 * controller's `engine.complete(request, supersede)` (reached through the Controller instance that activate() pushes
 * onto context.subscriptions) is wrapped to count the requests issued to the engine and not yet settled. Per scenario:
 *
 *  - queueMax: max(outstanding − 1, 0) over the run (outstanding includes the running request);
 *  - cancelledBeforeStart: results with cancelled && targetCalls === 0 (dropped before their prefill ran);
 *    cancelledPrefillOnly: cancelled with targetCalls > 0 and no token (its prefill ran for nothing: mostly requests
 *    already cancelled when the engine picked them up); cancelled, completed, failed, unsettled (still outstanding
 *    when the run ended);
 *  - p50/p95 of completed requests, from the provider call (the keystroke) to the engine's result;
 *  - the last keystroke's latency: from the last keystroke to the provider returning (null when it did not return
 *    within --wait seconds);
 *  - RSS and heapUsed of this process (the extension host) every second after a forced GC, the engine child
 *    processes' RSS, the engine processes and worker threads alive at the end (after deactivate()).
 *
 * A scenario runs with or without a CPU hog: one busy-looping node process per logical CPU during the typing and the
 * wait (killed at the end, and each stops by itself after a bound anyway).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
// The module object itself (not an import wrapper with getters): its Worker property is replaced while counting.
import workerThreads = require('node:worker_threads');
import { fixtureDir } from '../src/cli/prompts';
import { packageRoot } from '../src/models/catalog';
import { CancellationTokenSource, FakeDocument, FakeVscode, Position, fileUri, install } from '../test/vscode/fakeVscode';
import { ReportHead, headLines, quantile, reportHead, table } from './common';

export interface SoakOptions {
  /** Keystrokes per scenario (default 1000 and 3000). */
  keystrokes?: number[];
  /** lockstep.debounceMs values (default 0 and the default setting, 150). */
  debounceMs?: number[];
  /** Without and/or with the CPU hog (default both). */
  hog?: boolean[];
  /** Mean interval between keystrokes in ms (default 50). */
  intervalMs?: number;
  /** Each interval is uniform in [interval − jitter, interval + jitter] (default 15). */
  jitterMs?: number;
  /** Extra pause after typing a newline, ms (default 300: a typist's pause at the end of a line). */
  linePauseMs?: number;
  /** How long to wait for the last keystroke's completion, seconds (default 120). */
  waitSeconds?: number;
  /** lockstep.threads (default 1). */
  threads?: number;
  /** lockstep.device (default cpu). */
  device?: string;
  /** lockstep.target (default: the setting's default). */
  target?: string;
  /** Busy-looping processes of the CPU hog (default os.cpus().length). */
  hogProcesses?: number;
  /** The extension's entry module (default: extension.js next to the bundle, else out/src/vscode/extension.js). */
  extension?: string;
  /** Seed of the keystroke intervals' jitter (default 1). */
  seed?: number;
  /** Memory sampling period, ms (default 1000). */
  sampleMs?: number;
  argv?: string[];
  onProgress?: (done: number, total: number) => void;
  /** A line per scenario on stderr (the CLI's progress). */
  onNote?: (line: string) => void;
}

export const SOAK_DEFAULTS = {
  keystrokes: [1000, 3000], debounceMs: [0, 150], hog: [false, true], intervalMs: 50, jitterMs: 15, linePauseMs: 300,
  waitSeconds: 120, threads: 1, device: 'cpu', seed: 1, sampleMs: 1000,
};

/** --quick: two tiny scenarios (well under a minute together). */
export const SOAK_QUICK = { keystrokes: [60], scenarios: [{ debounceMs: 0, hog: false }, { debounceMs: 150, hog: true }], waitSeconds: 60 };

export interface Series {
  min: number;
  max: number;
  last: number;
  /** One value per sample (every `sampleMs`), MiB. */
  series: number[];
}

export interface SoakRow {
  scenario: string;
  keystrokes: number;
  debounceMs: number;
  hog: boolean;
  /** Busy-looping processes (0 without the hog). */
  hogProcesses: number;
  /** The typed text: file and character range. */
  typed: string;
  typingSeconds: number;
  /** Requests issued to the engine (EngineHost.complete calls). */
  requests: number;
  queueMax: number;
  cancelledBeforeStart: number;
  cancelledPrefillOnly: number;
  cancelled: number;
  completed: number;
  failed: number;
  /** Requests still outstanding when the run ended (abandoned to deactivate()). */
  unsettled: number;
  /** Engine seconds spent on requests that came back cancelled, and their prefill seconds. */
  cancelledSeconds: number;
  cancelledPrefillSeconds: number;
  /** Completed requests: from the provider call (keystroke) to the engine's result. */
  p50Ms: number | null;
  p95Ms: number | null;
  /** Completed requests: from EngineHost.complete to the result. */
  engineP50Ms: number | null;
  engineP95Ms: number | null;
  /** Keystrokes whose provider call returned an item (cache hits included). */
  items: number;
  /** From the last keystroke to the provider's return; null when it did not return within the wait. */
  lastKeystrokeMs: number | null;
  lastKeystroke: 'item' | 'empty' | 'error' | 'never';
  /** The last keystroke's item came from the completion cache (typing along an earlier suggestion), not the engine. */
  lastFromCache: boolean;
  /**
   * From the last keystroke until its provider call had returned and no engine request was outstanding (the backlog
   * drained); null when that did not happen within the wait.
   */
  drainMs: number | null;
  /** This process's event-loop delay (the extension host's responsiveness), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  rssMiB: Series;
  heapMiB: Series;
  /** Resident memory of the engine's child processes (0 for an engine in a worker thread, which is in rssMiB). */
  engineRssMiB: Series;
  /** Queue length (outstanding − 1) at each sample. */
  queueSeries: number[];
  engineProcessesMax: number;
  workerThreadsMax: number;
  engineProcessesAtEnd: number;
  workerThreadsAtEnd: number;
  /** Warnings and errors the extension logged (first 20). */
  logProblems: string[];
}

export interface SoakReport extends ReportHead {
  extension: string;
  intervalMs: number;
  jitterMs: number;
  linePauseMs: number;
  waitSeconds: number;
  sampleMs: number;
  device: string;
  rows: SoakRow[];
}

// ---------------------------------------------------------------- the typed text

const CODE_FILE = /\.(js|ts)\.txt$/;

export interface TypingText {
  label: string;
  languageId: string;
  /** The document before the first keystroke, and the cursor. */
  initial: string;
  start: Position;
  /** What is typed, one character per keystroke. */
  typed: string;
}

/**
 * `count` characters of a held-out source file to retype: the largest one (core-mergeConfig.js, 7 871 characters),
 * from the start of the line at a quarter of the file, so that every run types a prefix of the same text and the
 * document holds the rest of the file (a suffix for fill-in-the-middle). Longer than the file (less 200 characters):
 * the held-out files concatenated.
 */
export function typingText(count: number): TypingText {
  const dir = path.join(fixtureDir(), 'heldout');
  const files = fs.readdirSync(dir).filter((f) => CODE_FILE.test(f)).sort();
  const texts = files.map((f) => ({ f, text: fs.readFileSync(path.join(dir, f), 'utf8').replace(/\r\n/g, '\n') }));
  const margin = 200;
  const largest = [...texts].sort((a, b) => b.text.length - a.text.length || a.f.localeCompare(b.f))[0];
  let label: string;
  let text: string;
  if (largest && largest.text.length >= count + margin) {
    label = largest.f;
    text = largest.text;
  } else {
    label = 'heldout/*';
    text = texts.map((x) => x.text).join('\n');
    while (text.length < count + 2 * margin) text += `\n${text}`;
  }
  let from = text.lastIndexOf('\n', Math.floor(text.length / 4)) + 1;
  if (from + count > text.length - margin) from = Math.max(0, text.length - margin - count);
  const before = text.slice(0, from);
  const lines = before.split('\n');
  const start = new Position(lines.length - 1, lines[lines.length - 1].length);
  const languageId = label.endsWith('.ts.txt') ? 'typescript' : 'javascript';
  return {
    label: `${label}:${from}-${from + count}`, languageId, initial: before + text.slice(from + count), start,
    typed: text.slice(from, from + count),
  };
}

/** Milliseconds before each keystroke: uniform jitter around the mean (seeded), plus a pause after each newline. */
export function keystrokeDelays(typed: string, o: { intervalMs: number; jitterMs: number; linePauseMs: number; seed: number }): number[] {
  let s = o.seed >>> 0;
  const rand = (): number => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const jitter = Math.min(o.jitterMs, o.intervalMs);
  return [...typed].map((_, i) => {
    const d = o.intervalMs - jitter + 2 * jitter * rand();
    return i > 0 && typed[i - 1] === '\n' ? d + o.linePauseMs : d;
  });
}

// ---------------------------------------------------------------- processes, threads, memory

interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

function processes(): ProcInfo[] | null {
  if (fs.existsSync('/proc/self/stat')) {
    const out: ProcInfo[] = [];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const rest = stat.slice(close + 2).split(' ');
        out.push({ pid: Number(d), ppid: Number(rest[1]), state: rest[0], comm: stat.slice(stat.indexOf('(') + 1, close) });
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
  try {
    const text = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,stat=,comm='], { encoding: 'utf8', timeout: 5000 });
    return text.trim().split('\n').map((l) => {
      const [pid, ppid, state, ...comm] = l.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), state: state[0], comm: comm.join(' ') };
    });
  } catch {
    return null;
  }
}

/** Live (not zombie) child processes of this process, except `exclude`. */
function childProcesses(exclude: ReadonlySet<number>): ProcInfo[] | null {
  const all = processes();
  return all === null ? null : all.filter((p) => p.ppid === process.pid && p.state !== 'Z' && !exclude.has(p.pid));
}

function rssMiBOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Counts the worker threads started while installed (node has no public list of them). */
class WorkerCounter {
  readonly live = new Set<object>();
  private readonly original = workerThreads.Worker;
  install(): void {
    const live = this.live;
    const Original = this.original;
    class CountedWorker extends Original {
      constructor(...args: ConstructorParameters<typeof Original>) {
        super(...args);
        live.add(this);
        this.once('exit', () => live.delete(this));
      }
    }
    (workerThreads as { Worker: typeof Original }).Worker = CountedWorker;
  }
  uninstall(): void {
    (workerThreads as { Worker: typeof workerThreads.Worker }).Worker = this.original;
  }
}

let gcFn: (() => void) | undefined;
/** global.gc, or the same function obtained with --expose-gc set at run time. */
function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') gcFn = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

function series(xs: number[]): Series {
  const r = (x: number) => Math.round(x * 10) / 10;
  return xs.length === 0
    ? { min: 0, max: 0, last: 0, series: [] }
    : { min: r(Math.min(...xs)), max: r(Math.max(...xs)), last: r(xs[xs.length - 1]), series: xs.map(r) };
}

// ---------------------------------------------------------------- CPU hog

class CpuHog {
  private readonly children: ChildProcess[] = [];
  private readonly onExit = () => this.killNow();
  constructor(readonly count: number, boundMs: number) {
    // Each stops by itself after boundMs even if this process dies without killing it.
    const script = `const end = Date.now() + ${Math.ceil(boundMs)}; while (Date.now() < end) {}`;
    for (let i = 0; i < count; i++) this.children.push(spawn(process.execPath, ['-e', script], { stdio: 'ignore' }));
    process.once('exit', this.onExit);
  }
  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }
  private killNow(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    const exited = this.children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((res) => c.once('exit', () => res())));
    this.killNow();
    await Promise.all(exited);
  }
}

// ---------------------------------------------------------------- the extension

interface ExtensionModule {
  activate(context: unknown): { engineReady(): Promise<unknown>; models(): { targetDir: string } | undefined };
  deactivate(): Promise<void>;
}

interface Job {
  id: number;
  result: Promise<{ cancelled: boolean; targetCalls: number; tokens: number; seconds: number; prefillSeconds: number; text: string }>;
}

interface EngineLike {
  complete(request: unknown, supersede?: boolean): Job;
}

/** The extension module: extension.js next to this file (the bundle: dist/cli.js → dist/extension.js), else the tsc output's. */
export function defaultExtension(): string {
  const candidates = [path.join(__dirname, 'extension.js'), path.join(__dirname, '..', 'src', 'vscode', 'extension.js')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`cannot find the extension module (looked for ${candidates.join(', ')}); build it (npx tsc -p . or node esbuild.mjs) or pass --extension`);
  return found;
}

/** One stand-in `vscode` module per process: the extension's modules keep the one they were first loaded with. */
let shared: { fake: FakeVscode; ext: ExtensionModule; file: string } | undefined;

function loadExtension(file: string): { fake: FakeVscode; ext: ExtensionModule } {
  if (shared) {
    if (shared.file !== file) throw new Error(`bench soak: this process already loaded ${shared.file}; run ${file} in a fresh process`);
    return shared;
  }
  const fake = new FakeVscode();
  const uninstall = install(fake);
  try {
    const ext = createRequire(__filename)(file) as ExtensionModule;
    shared = { fake, ext, file };
    return shared;
  } finally {
    // Every `vscode` import of the extension ran at load time; the modules keep the stand-in.
    uninstall();
  }
}

// ---------------------------------------------------------------- one scenario

interface Scenario {
  keystrokes: number;
  debounceMs: number;
  hog: boolean;
}

interface RequestRecord {
  keystroke: number;
  issued: number;
  settled?: number;
  cancelled?: boolean;
  targetCalls?: number;
  tokens?: number;
  seconds?: number;
  prefillSeconds?: number;
  error?: string;
}

interface KeystrokeRecord {
  at: number;
  returned?: number;
  outcome?: 'item' | 'empty' | 'error';
}

const sleepMs = (ms: number) => new Promise<void>((res) => setTimeout(res, Math.max(0, ms)));

async function runScenario(
  sc: Scenario, o: Required<Pick<SoakOptions, 'intervalMs' | 'jitterMs' | 'linePauseMs' | 'waitSeconds' | 'threads' | 'device' | 'seed' | 'sampleMs' | 'hogProcesses'>> &
    { target?: string; extension: string },
  models: Record<string, string>,
): Promise<SoakRow> {
  const { fake, ext } = loadExtension(o.extension);
  fake.config = { threads: o.threads, debounceMs: sc.debounceMs, device: o.device, ...(o.target ? { target: o.target } : {}) };
  fake.providers = [];
  fake.log.length = 0;
  fake.messages.length = 0;
  const text = typingText(sc.keystrokes);
  const delays = keystrokeDelays(text.typed, o);
  const baseline = new Set((childProcesses(new Set()) ?? []).map((p) => p.pid));
  const workers = new WorkerCounter();
  workers.install();
  const context = { subscriptions: [] as { dispose(): unknown }[], extension: { id: 'lockstep.lockstep', packageJSON: { version: 'soak' } } };
  const problems: string[] = [];
  const keepProblems = () => {
    for (const l of fake.log) if ((l.startsWith('warn ') || l.startsWith('error ')) && problems.length < 20) problems.push(l);
    fake.log.length = 0; // the output channel's text is not the extension's memory
  };
  let hog: CpuHog | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let activated = false;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    const api = ext.activate(context);
    activated = true;
    await api.engineReady();
    const provider = fake.providers[0]?.provider;
    if (!provider) throw new Error('the extension registered no inline completion provider with the stand-in vscode module');
    const ctl = context.subscriptions.find((s) => typeof (s as { engine?: EngineLike }).engine?.complete === 'function') as { engine: EngineLike } | undefined;
    if (!ctl) throw new Error('cannot reach the engine host: no Controller with `engine.complete` in context.subscriptions');
    const targetDir = api.models()?.targetDir;
    if (targetDir) models.target ??= targetDir;
    const plan = (ctl as { plan?: { options?: { drafters?: { name: string; dir: string }[] } } }).plan;
    for (const d of plan?.options?.drafters ?? []) if (d.dir) models[d.name] ??= d.dir;

    // Requests issued to the engine, tied to the keystroke whose provider call issued them.
    const keystrokeOf = new AsyncLocalStorage<number>();
    const requests: RequestRecord[] = [];
    let outstanding = 0;
    let queueMax = 0;
    const host = ctl.engine;
    const original = host.complete;
    host.complete = function (this: EngineLike, request: unknown, supersede?: boolean): Job {
      const job = original.call(this, request, ...(supersede === undefined ? [] : [supersede]));
      const rec: RequestRecord = { keystroke: keystrokeOf.getStore() ?? -1, issued: performance.now() };
      requests.push(rec);
      outstanding++;
      queueMax = Math.max(queueMax, outstanding - 1);
      job.result.then(
        (r) => {
          Object.assign(rec, { settled: performance.now(), cancelled: r.cancelled, targetCalls: r.targetCalls, tokens: r.tokens, seconds: r.seconds, prefillSeconds: r.prefillSeconds });
          outstanding--;
        },
        (e: Error) => {
          Object.assign(rec, { settled: performance.now(), error: e.message });
          outstanding--;
        },
      );
      return job;
    };

    // Memory, queue and process samples.
    const rss: number[] = [];
    const heap: number[] = [];
    const engineRss: number[] = [];
    const queue: number[] = [];
    let engineProcessesMax = 0;
    let workerThreadsMax = 0;
    const hogPids = new Set<number>();
    const sample = () => {
      keepProblems();
      forceGc();
      const m = process.memoryUsage();
      rss.push(m.rss / 2 ** 20);
      heap.push(m.heapUsed / 2 ** 20);
      const kids = (childProcesses(hogPids) ?? []).filter((p) => !baseline.has(p.pid));
      engineRss.push(kids.reduce((a, p) => a + rssMiBOf(p.pid), 0));
      engineProcessesMax = Math.max(engineProcessesMax, kids.length);
      workerThreadsMax = Math.max(workerThreadsMax, workers.live.size);
      queue.push(Math.max(outstanding - 1, 0));
    };

    const expectedMs = delays.reduce((a, b) => a + b, 0);
    if (sc.hog) {
      hog = new CpuHog(o.hogProcesses, expectedMs * 2 + o.waitSeconds * 1000 + 60_000);
      for (const p of hog.pids) hogPids.add(p);
    }
    sample();
    sampler = setInterval(sample, o.sampleMs);
    loop.enable();

    // Typing.
    const doc = new FakeDocument(fileUri(`/soak/${text.label.replace(/:.*/, '').replace(/\.txt$/, '')}`), text.initial, text.languageId);
    let pos = text.start;
    let cts: CancellationTokenSource | undefined;
    const keys: KeystrokeRecord[] = [];
    const t0 = performance.now();
    let due = t0;
    for (let k = 0; k < text.typed.length; k++) {
      due += delays[k];
      await sleepMs(due - performance.now());
      cts?.cancel();
      cts = new CancellationTokenSource();
      pos = doc.insert(pos, text.typed[k]);
      const rec: KeystrokeRecord = { at: performance.now() };
      keys.push(rec);
      const token = cts.token;
      const at = pos;
      void keystrokeOf.run(k, async () => {
        try {
          const items = await provider.provideInlineCompletionItems(doc, at, { triggerKind: 1, selectedCompletionInfo: undefined }, token);
          rec.outcome = items && items.length > 0 ? 'item' : 'empty';
        } catch {
          rec.outcome = 'error';
        }
        rec.returned = performance.now();
      });
    }
    const typingSeconds = (performance.now() - t0) / 1000;

    // The last keystroke's completion, then the engine's queue drained (nothing outstanding), within the bound.
    const last = keys[keys.length - 1];
    const deadline = last.at + o.waitSeconds * 1000;
    let drainedAt: number | undefined;
    while (performance.now() < deadline) {
      if (last.returned !== undefined && outstanding === 0) {
        drainedAt = performance.now();
        break;
      }
      await sleepMs(Math.min(10, deadline - performance.now()));
    }
    const unsettled = outstanding;
    // The accounting as the wait ended: requests abandoned now settle (as errors) during deactivate().
    const requestsAtEnd = requests.map((r) => ({ ...r }));
    loop.disable();
    clearInterval(sampler);
    sampler = undefined;
    await hog?.stop();
    hog = undefined;
    sample();
    keepProblems();
    // Cancel what the provider still waits on (VS Code cancels on deactivation too), then deactivate.
    cts?.cancel();
    await ext.deactivate();
    activated = false;
    for (const d of context.subscriptions) d.dispose();
    const atEnd = (childProcesses(hogPids) ?? []).filter((p) => !baseline.has(p.pid));

    const done = requestsAtEnd.filter((r) => r.settled !== undefined && r.error === undefined);
    const completed = done.filter((r) => !r.cancelled);
    const cancelled = done.filter((r) => r.cancelled);
    const fromKey = completed.filter((r) => r.keystroke >= 0).map((r) => r.settled! - keys[r.keystroke].at);
    const engineMs = completed.map((r) => r.settled! - r.issued);
    const q = (xs: number[], p: number) => (xs.length === 0 ? null : Math.round(quantile(xs, p) * 10) / 10);
    const lastFailed = requestsAtEnd.some((r) => r.keystroke === keys.length - 1 && r.error !== undefined);
    const lastOutcome = last.returned === undefined ? 'never' : lastFailed ? 'error' : last.outcome ?? 'error';
    return {
      scenario: `${sc.keystrokes}-d${sc.debounceMs}${sc.hog ? '-hog' : ''}`,
      keystrokes: sc.keystrokes, debounceMs: sc.debounceMs, hog: sc.hog, hogProcesses: sc.hog ? o.hogProcesses : 0,
      typed: text.label, typingSeconds: Math.round(typingSeconds * 10) / 10,
      requests: requestsAtEnd.length, queueMax,
      cancelledBeforeStart: cancelled.filter((r) => r.targetCalls === 0).length,
      cancelledPrefillOnly: cancelled.filter((r) => (r.targetCalls ?? 0) > 0 && r.tokens === 0).length,
      cancelled: cancelled.length, completed: completed.length,
      failed: requestsAtEnd.filter((r) => r.error !== undefined).length,
      unsettled,
      cancelledSeconds: Math.round(cancelled.reduce((a, r) => a + (r.seconds ?? 0), 0) * 100) / 100,
      cancelledPrefillSeconds: Math.round(cancelled.reduce((a, r) => a + (r.prefillSeconds ?? 0), 0) * 100) / 100,
      p50Ms: q(fromKey, 0.5), p95Ms: q(fromKey, 0.95), engineP50Ms: q(engineMs, 0.5), engineP95Ms: q(engineMs, 0.95),
      items: keys.filter((k) => k.outcome === 'item').length,
      lastKeystrokeMs: last.returned === undefined ? null : Math.round(last.returned - last.at),
      lastKeystroke: lastOutcome,
      lastFromCache: lastOutcome === 'item' && !requestsAtEnd.some((r) => r.keystroke === keys.length - 1),
      drainMs: drainedAt === undefined ? null : Math.round(drainedAt - last.at),
      loopDelayP99Ms: Math.round(loop.percentile(99) / 1e5) / 10, loopDelayMaxMs: Math.round(loop.max / 1e5) / 10,
      rssMiB: series(rss), heapMiB: series(heap), engineRssMiB: series(engineRss), queueSeries: queue,
      engineProcessesMax, workerThreadsMax,
      engineProcessesAtEnd: atEnd.length, workerThreadsAtEnd: workers.live.size,
      logProblems: problems,
    };
  } finally {
    loop.disable();
    if (sampler) clearInterval(sampler);
    await hog?.stop();
    if (activated) {
      await ext.deactivate().catch(() => undefined);
      for (const d of context.subscriptions) d.dispose();
    }
    workers.uninstall();
  }
}

// ---------------------------------------------------------------- the benchmark

export function soakScenarios(o: Pick<SoakOptions, 'keystrokes' | 'debounceMs' | 'hog'>): Scenario[] {
  const out: Scenario[] = [];
  for (const keystrokes of o.keystrokes ?? SOAK_DEFAULTS.keystrokes) {
    for (const debounceMs of o.debounceMs ?? SOAK_DEFAULTS.debounceMs) {
      for (const hog of o.hog ?? SOAK_DEFAULTS.hog) out.push({ keystrokes, debounceMs, hog });
    }
  }
  return out;
}

export async function runSoak(o: SoakOptions & { scenarios?: Scenario[] }): Promise<SoakReport> {
  const t0 = performance.now();
  // The load before the run (at the end it includes the CPU hog's).
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const opts = {
    intervalMs: o.intervalMs ?? SOAK_DEFAULTS.intervalMs,
    jitterMs: o.jitterMs ?? SOAK_DEFAULTS.jitterMs,
    linePauseMs: o.linePauseMs ?? SOAK_DEFAULTS.linePauseMs,
    waitSeconds: o.waitSeconds ?? SOAK_DEFAULTS.waitSeconds,
    threads: o.threads ?? SOAK_DEFAULTS.threads,
    device: o.device ?? SOAK_DEFAULTS.device,
    seed: o.seed ?? SOAK_DEFAULTS.seed,
    sampleMs: o.sampleMs ?? SOAK_DEFAULTS.sampleMs,
    hogProcesses: o.hogProcesses ?? os.cpus().length,
    target: o.target,
    extension: path.resolve(o.extension ?? defaultExtension()),
  };
  const scenarios = o.scenarios ?? soakScenarios(o);
  const models: Record<string, string> = {};
  const rows: SoakRow[] = [];
  for (const sc of scenarios) {
    const row = await runScenario(sc, opts, models);
    rows.push(row);
    o.onNote?.(`${row.scenario}: queue max ${row.queueMax}, last keystroke ${row.lastKeystrokeMs === null ? 'never' : `${row.lastKeystrokeMs} ms`}`);
    o.onProgress?.(rows.length, scenarios.length);
  }
  const rel = path.relative(packageRoot(), opts.extension);
  const head = reportHead('soak', o.argv ?? ['bench', 'soak'], opts.threads, models, t0);
  head.machine.loadAverage = loadAtStart;
  return {
    ...head,
    extension: rel.startsWith('..') ? opts.extension : rel,
    intervalMs: opts.intervalMs, jitterMs: opts.jitterMs, linePauseMs: opts.linePauseMs, waitSeconds: opts.waitSeconds,
    sampleMs: opts.sampleMs, device: opts.device, rows,
  };
}

const ms = (x: number | null) => (x === null ? 'never' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

export function formatSoak(r: SoakReport): string {
  const lines = [headLines(r).trimEnd()];
  lines.push(`extension ${r.extension} against the stand-in vscode module; device ${r.device}; keystrokes every ${r.intervalMs} ± ${r.jitterMs} ms, ` +
    `+${r.linePauseMs} ms after a newline; last completion awaited ≤ ${r.waitSeconds} s; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['scenario', 'requests', 'queue max', 'cancelled before start', 'prefill only', 'cancelled', 'completed', 'p50', 'p95', 'last keystroke', 'drained',
      'RSS MiB min/max/last', 'heap MiB min/max/last', 'engine procs at end'],
    r.rows.map((x) => [x.scenario, String(x.requests), String(x.queueMax), String(x.cancelledBeforeStart), String(x.cancelledPrefillOnly),
      String(x.cancelled), String(x.completed), ms(x.p50Ms), ms(x.p95Ms), `${ms(x.lastKeystrokeMs)}${x.lastFromCache ? ' (cache)' : ''}`, ms(x.drainMs),
      `${x.rssMiB.min.toFixed(0)}/${x.rssMiB.max.toFixed(0)}/${x.rssMiB.last.toFixed(0)}`,
      `${x.heapMiB.min.toFixed(1)}/${x.heapMiB.max.toFixed(1)}/${x.heapMiB.last.toFixed(1)}`,
      `${x.engineProcessesAtEnd}${x.workerThreadsAtEnd > 0 ? ` (+${x.workerThreadsAtEnd} workers)` : ''}`]),
  ));
  lines.push('');
  lines.push('scenario: keystrokes-d<debounceMs>[-hog: one busy process per CPU]. queue max: most requests waiting behind the running one; ' +
    'cancelled before start: cancelled with no model call; prefill only: cancelled after its prefill, before any token; ' +
    'p50/p95: completed requests, from the keystroke to the result; last keystroke: until the provider returned ' +
    '((cache): typing along an earlier suggestion); drained: until, in addition, no engine request was outstanding. ' +
    'RSS/heap: this process (the extension host), sampled every second after a forced GC.');
  const problems = r.rows.flatMap((x) => x.logProblems.map((p) => `${x.scenario}: ${p}`));
  if (problems.length > 0) lines.push('', 'logged warnings/errors:', ...problems.slice(0, 10).map((p) => `  ${p}`));
  return `${lines.join('\n')}\n`;
}

/** The README's table of a soak report (`md` is the report's Markdown table helper). */
export function soakMarkdownTable(r: SoakReport, md: (header: string[], rows: string[][]) => string): string {
  const mib = (x: Series, digits = 0) => `${x.max.toFixed(digits)} / ${x.last.toFixed(digits)}`;
  return md(
    ['keystrokes', 'debounce', 'hog', 'requests', 'queue max', 'cancelled before start', 'prefill only', 'cancelled', 'completed',
      'p50', 'p95', 'last keystroke', 'drained', 'RSS MiB max / last', 'heap MiB max / last', 'engine RSS MiB max', 'engine processes at end'],
    r.rows.map((x) => [String(x.keystrokes), `${x.debounceMs} ms`, x.hog ? `${x.hogProcesses} busy` : 'no', String(x.requests),
      String(x.queueMax), String(x.cancelledBeforeStart), String(x.cancelledPrefillOnly), String(x.cancelled), String(x.completed),
      ms(x.p50Ms), ms(x.p95Ms), `${ms(x.lastKeystrokeMs)}${x.lastFromCache ? ' (cache)' : ''}`, ms(x.drainMs), mib(x.rssMiB), mib(x.heapMiB, 1),
      x.engineRssMiB.max.toFixed(0), `${x.engineProcessesAtEnd}${x.workerThreadsAtEnd > 0 ? ` + ${x.workerThreadsAtEnd} worker threads` : ''}`]),
  );
}
