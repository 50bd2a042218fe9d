/**
 * The engine in a child process (engineProcess.ts), as its users see it: completions are promises; at most one
 * request runs and, of those that supersede, at most one waits (a newer one replaces it); a request cancelled while
 * it waits resolves at once without reaching the engine. When the process dies — a native crash or abort, an exit,
 * or the watchdog's kill of a model call that ran far past the slowest call measured — every pending request is
 * rejected at once with the reason and `onDeath` is told. Only a signal ever stops the process from outside
 * (never Worker.terminate(), which aborts the whole Node process while onnxruntime is inside run()).
 */
import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { FromEngine, ToEngine } from './protocol';
import type { FusedEvent } from '../runtime/fusedUpgrade';
import { notStartedResult, type CompletionRequest, type CompletionResult, type EngineInfo, type EngineOptions } from '../request/requests';

/** When the watchdog kills the engine: a request silent for longer than its limit, or a load that never ends. */
export interface WatchdogSettings {
  /** The limit is never below this. */
  floorMs: number;
  /** …and is this many times the slowest stretch between two checkpoints measured so far. */
  factor: number;
  /** The limit while nothing has been measured yet (the first prefill of a new engine). */
  unmeasuredMs: number;
  /** Longest model load. */
  loadMs: number;
}

export const DEFAULT_WATCHDOG: WatchdogSettings = { floorMs: 15_000, factor: 10, unmeasuredMs: 120_000, loadMs: 600_000 };

export interface EngineClientOptions {
  /** The engine process's script; defaults to engineProcess.js next to this file (tsc output and bundle alike). */
  script?: string;
  watchdog?: Partial<WatchdogSettings>;
  /** The slowest stretch an earlier engine of the same options measured (the watchdog starts from it). */
  slowestMs?: number;
  /** Called once when the process dies without being asked to stop. */
  onDeath?: (reason: string) => void;
  /** Lines the engine process writes to stderr (onnxruntime's warnings, a crash's last words). */
  onStderr?: (line: string) => void;
  /** The target's fused copy, made in the background: progress, ready, swapped in or failed. */
  onFused?: (e: FusedEvent) => void;
}

export interface EngineClientStats {
  /** The most requests waiting at once (the running one not counted). */
  maxWaiting: number;
  /** Requests sent to the engine process. */
  sent: number;
  /** Requests cancelled (superseded) before they were sent. */
  notStarted: number;
  /** Of the last result: ms from its arrival in the engine process to its result there, and on this side. */
  lastEngineMs: number;
  lastClientMs: number;
}

interface Job {
  id: number;
  request: CompletionRequest;
  resolve(r: CompletionResult): void;
  reject(e: Error): void;
}

const STDERR_TAIL = 2000;

export class EngineClient {
  private readonly child: ChildProcess;
  private readonly watchdog: WatchdogSettings;
  private readonly waiting: Job[] = [];
  private running: Job | undefined;
  private info: EngineInfo | undefined;
  private readonly readyPromise: Promise<EngineInfo>;
  private settleReady!: { resolve(i: EngineInfo): void; reject(e: Error): void };
  private nextId = 1;
  private slowestMs: number;
  /** performance.now() of the last message from the engine, or of the request / load start. */
  private lastSign = performance.now();
  private readonly timer: NodeJS.Timeout;
  private stopping = false;
  private killReason: string | undefined;
  private deathReason: string | undefined;
  private stderrTail = '';
  private readonly exited: Promise<void>;
  readonly stats: EngineClientStats = { maxWaiting: 0, sent: 0, notStarted: 0, lastEngineMs: 0, lastClientMs: 0 };
  /** performance.now() when the running request was sent. */
  private sentAt = 0;

  constructor(options: EngineOptions, private readonly opts: EngineClientOptions = {}) {
    this.watchdog = { ...DEFAULT_WATCHDOG, ...opts.watchdog };
    this.slowestMs = opts.slowestMs ?? 0;
    this.readyPromise = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.readyPromise.catch(() => undefined);
    // Inside the editor process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node, as language
    // servers run. execArgv is not inherited (a debugger flag of the host would make the child wait for one).
    this.child = fork(opts.script ?? path.join(__dirname, 'engineProcess.js'), [], {
      execPath: process.execPath,
      execArgv: [],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout?.on('data', (b: Buffer) => this.stderr(b));
    this.child.stderr?.on('data', (b: Buffer) => this.stderr(b));
    this.child.on('message', (msg: FromEngine) => this.onMessage(msg));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      this.onExit(code, signal);
      resolve();
    }));
    this.child.on('error', (e) => this.die(`the engine process could not run: ${e.message}`));
    this.timer = setInterval(() => this.checkWatchdog(), 100);
    this.timer.unref();
    this.send({ type: 'init', options });
  }

  /** Resolves when the models are loaded; rejects when loading failed or the process died. */
  ready(): Promise<EngineInfo> {
    return this.readyPromise;
  }

  /** The process id of the engine (undefined once it is gone). */
  /** The engine's latest description (updated when a fused copy is swapped in); undefined before it is ready. */
  get engineInfo(): EngineInfo | undefined {
    return this.info;
  }

  get pid(): number | undefined {
    return this.deathReason === undefined ? this.child.pid : undefined;
  }

  /** Why the engine process died, when it did. */
  get death(): string | undefined {
    return this.deathReason;
  }

  /** Starts a completion. `supersede` cancels every earlier request: waiting ones resolve as cancelled at once. */
  complete(request: CompletionRequest, supersede = true): { id: number; result: Promise<CompletionResult> } {
    const id = this.nextId++;
    const result = new Promise<CompletionResult>((resolve, reject) => {
      if (this.deathReason !== undefined || this.stopping) {
        reject(new Error(this.deathReason ?? 'the engine is stopping'));
        return;
      }
      if (supersede) this.cancel(id - 1);
      this.waiting.push({ id, request, resolve, reject });
      this.pump();
      this.stats.maxWaiting = Math.max(this.stats.maxWaiting, this.waiting.length);
    });
    return { id, result };
  }

  /** Cancels request `id` and every earlier one: waiting ones resolve as cancelled, the running one stops at its next checkpoint. */
  cancel(id: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const job = this.waiting[i];
      if (job.id > id) continue;
      this.waiting.splice(i, 1);
      this.stats.notStarted++;
      job.resolve(notStartedResult(job.request));
    }
    if (this.running && this.running.id <= id) this.send({ type: 'cancel', below: id + 1 });
  }

  /** The slowest stretch between two checkpoints the engine has measured (ms; 0 before the first request). */
  get slowest(): number {
    return this.slowestMs;
  }

  /** Asks the engine to stop; kills it when it has not exited `graceMs` later. Pending requests resolve as cancelled. */
  async dispose(graceMs = 2000): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.cancel(this.nextId);
      this.send({ type: 'dispose' });
      const t = setTimeout(() => this.kill('it did not stop when asked'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    await this.exited;
  }

  /** Kills the engine process at once (SIGKILL); `reason` becomes the death reason. */
  kill(reason: string): void {
    if (this.deathReason !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  private onMessage(msg: FromEngine): void {
    this.lastSign = performance.now();
    if ('slowestMs' in msg && msg.slowestMs !== undefined) this.slowestMs = Math.max(this.slowestMs, msg.slowestMs);
    if (msg.type === 'fused') {
      this.opts.onFused?.(msg.event);
      return;
    }
    if (msg.type === 'info') {
      this.info = msg.info;
      return;
    }
    if (msg.type === 'ready') {
      this.info = msg.info;
      this.settleReady.resolve(msg.info);
      this.pump();
    } else if (msg.type === 'result' || msg.type === 'error') {
      if (msg.id === null) {
        this.settleReady.reject(new Error(msg.type === 'error' ? msg.message : 'unexpected message'));
        return;
      }
      const job = this.running;
      if (!job || job.id !== msg.id) return;
      this.running = undefined;
      if (msg.type === 'result') {
        this.stats.lastEngineMs = msg.engineMs;
        this.stats.lastClientMs = performance.now() - this.sentAt;
        job.resolve(msg.result);
      }
      else job.reject(new Error(msg.message));
      this.pump();
    }
  }

  private pump(): void {
    if (this.running || !this.info || this.stopping || this.deathReason !== undefined) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.running = job;
    this.lastSign = this.sentAt = performance.now();
    this.stats.sent++;
    this.send({ type: 'complete', id: job.id, request: job.request });
  }

  private checkWatchdog(): void {
    if (this.deathReason !== undefined || this.stopping) return;
    const silent = performance.now() - this.lastSign;
    if (!this.info) {
      if (silent > this.watchdog.loadMs) this.kill(`loading the models took over ${(this.watchdog.loadMs / 1000).toFixed(0)} s`);
      return;
    }
    if (!this.running) return;
    const measured = this.slowestMs > 0;
    const limit = measured ? Math.max(this.watchdog.floorMs, this.watchdog.factor * this.slowestMs) : this.watchdog.unmeasuredMs;
    if (silent > limit) {
      this.kill(
        `a model call ran for ${(silent / 1000).toFixed(1)} s without returning, past the watchdog's limit of ` +
          `${(limit / 1000).toFixed(1)} s (${measured ? `${this.watchdog.factor} × the slowest step measured, ${this.slowestMs.toFixed(0)} ms` : 'nothing measured yet'})`,
      );
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    clearInterval(this.timer);
    if (this.stopping && this.killReason === undefined) {
      this.die('the engine was stopped', false);
      return;
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    const reason = this.killReason !== undefined
      ? `the engine process was killed: ${this.killReason}`
      : `the engine process ${how}${tail ? ` (${tail})` : ''}`;
    this.die(reason, !this.stopping);
  }

  private die(reason: string, unexpected = true): void {
    if (this.deathReason !== undefined) return;
    this.deathReason = reason;
    clearInterval(this.timer);
    const error = new Error(reason);
    this.settleReady.reject(error);
    const jobs = [...(this.running ? [this.running] : []), ...this.waiting.splice(0)];
    this.running = undefined;
    for (const job of jobs) {
      if (unexpected) job.reject(error);
      else job.resolve(notStartedResult(job.request));
    }
    if (unexpected) this.opts.onDeath?.(reason);
  }

  private stderr(b: Buffer): void {
    const text = b.toString('utf8');
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL);
    if (this.opts.onStderr) for (const line of text.split('\n')) if (line.trim()) this.opts.onStderr(line);
  }

  private send(msg: ToEngine): void {
    if (!this.child.connected) return;
    try {
      this.child.send(msg);
    } catch {
      // the process is going away: its exit handler settles everything
    }
  }
}
