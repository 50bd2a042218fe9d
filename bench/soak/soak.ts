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
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { packageRoot } from '../../src/models/catalog';
import { CancellationTokenSource, FakeDocument, FakeVscode, fileUri, install } from '../../test/vscode/fakeVscode';
import { quantile, reportHead } from '../common';
import { CpuHog, WorkerCounter, childProcesses, forceGc, rssMiBOf, series } from './probes';
import { SOAK_DEFAULTS, SoakOptions, SoakReport, SoakRow } from './types';
import { keystrokeDelays, typingText } from './typing';


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

/** The extension module: extension.js next to this file (the bundle: dist/bench.js → dist/extension.js), else the tsc output's. */
export function defaultExtension(): string {
  const candidates = [path.join(__dirname, 'extension.js'), path.join(__dirname, '..', '..', 'src', 'vscode', 'extension.js')];
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
