/**
 * The engine as the extension and `lockstep serve` see it: one EngineClient (a child process) at a time, restarted when the target or
 * the execution options change, or when a drafter model that is not loaded is needed. A restart keeps the drafters
 * already loaded for the same target, so switching drafters back and forth loads each model once.
 *
 * Failures never hang the editor: when the engine process dies (crash, abort, exit, the watchdog's kill) its pending
 * requests are rejected at once, the user is told once why, and the host starts a new engine after a back-off
 * delay; after `restartDelaysMs.length` failures in a row (no completion served in between) it stops and says so
 * (a setting change or Lockstep: Restart Engine tries again). Requests that keep throwing inside the engine count
 * as a failure too, after `requestErrorsBeforeRestart` in a row.
 * No `vscode` import: the extension and the server pass a logger and callbacks.
 */
import * as path from 'node:path';
import { EngineClient, type WatchdogSettings } from './client';
import type { CompletionRequest, CompletionResult, DrafterSpec, EngineInfo, EngineOptions } from '../request/requests';
import { describeOutcome } from '../runtime/device';
import { describeVerdict } from '../runtime/exactness';
import { engineCovers } from './engineOptions';
import type { EngineState } from './engineState';

export interface HostLogger {
  trace?(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface EngineHostOptions {
  /** The engine process's script (default: engineProcess.js next to the client). */
  script?: string;
  watchdog?: Partial<WatchdogSettings>;
  /** Delay before the n-th restart in a row; after the last one fails the host stops. */
  restartDelaysMs?: readonly number[];
  /** Requests in a row that throw inside the engine before it counts as failed and restarts. */
  requestErrorsBeforeRestart?: number;
  /** A message for the user (shown once per text by the controller). */
  onNotice?: (message: string) => void;
  /**
   * The engine swapped in the target's fused copy: its logits differ from the original file's in the last bits, so
   * completions made before may not be what a request gives now (the controller drops its completion cache).
   */
  onModelSwapped?: () => void;
}

export const DEFAULT_RESTART_DELAYS_MS = [500, 2000, 8000] as const;

/** " (variant q4f16; per device: cpu q4, webgpu q4f16)" for the loading line, "" for a model without variants. */
function describeVariants(o: EngineOptions): string {
  const perDevice = Object.entries(o.variants ?? {}).map(([d, v]) => `${d} ${v}`);
  const parts = [
    ...(o.variant ? [`variant ${o.variant}`] : []),
    ...(perDevice.length > 0 ? [`per device: ${perDevice.join(', ')}`] : []),
  ];
  return parts.length > 0 ? ` (${parts.join('; ')})` : '';
}

export class EngineHost {
  private client: EngineClient | undefined;
  private options: EngineOptions | undefined;
  private label = '';
  private readyPromise: Promise<EngineInfo> | undefined;
  private generation = 0;
  private disposed = false;
  /** The id of the last request given to the current client (0: none yet). */
  private lastId = 0;
  /** Engine failures since the last completion served (or the last configure). */
  private failures = 0;
  private requestErrors = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The slowest step measured by an engine of the current options: the next one's watchdog starts from it. */
  private slowestMs = 0;
  private readonly restartDelays: readonly number[];
  private restartCount = 0;

  constructor(
    private readonly log: HostLogger,
    private readonly onState: (s: EngineState) => void,
    private readonly hostOptions: EngineHostOptions = {},
  ) {
    this.restartDelays = hostOptions.restartDelaysMs ?? DEFAULT_RESTART_DELAYS_MS;
  }

  /** The options of the engine loaded or loading now. */
  get current(): EngineOptions | undefined {
    return this.options;
  }

  /** The process id of the running engine (tests and the soak benchmark count processes). */
  get enginePid(): number | undefined {
    return this.client?.pid;
  }

  /** Engines restarted after a failure (a crash, the watchdog, requests failing in a row) since the host began. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The current client's queue figures (undefined while none runs). */
  get queueStats(): EngineClient['stats'] | undefined {
    return this.client?.stats;
  }

  /**
   * Makes the running engine able to serve `want`: nothing happens when it already can; otherwise the engine
   * restarts with `want`'s options and — for the same target and options — the drafters it had plus the new ones.
   * Returns true when it restarted.
   */
  configure(want: EngineOptions, label = path.basename(want.target)): boolean {
    if (this.disposed) throw new Error('the engine host is disposed');
    if (this.client && this.options && engineCovers(this.options, want)) return false;
    let drafters: DrafterSpec[] = [...(want.drafters ?? [])];
    const sameTarget = this.options !== undefined && engineCovers({ ...this.options, drafters: [] }, { ...want, drafters: [] });
    if (sameTarget) {
      const names = new Set(drafters.map((d) => d.name));
      for (const d of this.options!.drafters ?? []) if (!names.has(d.name)) drafters.push(d);
      drafters = drafters.sort((a, b) => a.name.localeCompare(b.name));
    } else {
      this.slowestMs = 0;
    }
    this.failures = 0;
    this.requestErrors = 0;
    this.options = { ...want, drafters };
    this.label = label;
    this.launch();
    return true;
  }

  /** Starts a new engine with the current options now (Lockstep: Restart Engine), forgetting earlier failures. */
  restart(): void {
    if (this.disposed || !this.options) return;
    this.failures = 0;
    this.requestErrors = 0;
    this.launch();
  }

  /** Resolves when the current engine is loaded (rejects when it failed); waits through restarts that happen meanwhile. */
  async ready(): Promise<EngineInfo> {
    for (;;) {
      const gen = this.generation;
      const p = this.readyPromise;
      if (!p) throw new Error('no engine is configured');
      try {
        const info = await p;
        if (gen === this.generation) return info;
      } catch (e) {
        if (gen === this.generation) throw e;
      }
    }
  }

  /** Starts a completion on the current engine; `supersede` cancels every earlier request. */
  complete(request: CompletionRequest, supersede = true): { id: number; result: Promise<CompletionResult> } {
    const client = this.client;
    if (!client) throw new Error('no engine is running');
    const job = client.complete(request, supersede);
    this.lastId = job.id;
    const result = job.result.then(
      (r) => {
        if (client === this.client) {
          this.requestErrors = 0;
          if (!r.cancelled) this.failures = 0;
        }
        return r;
      },
      (e: Error) => {
        if (client === this.client && client.death === undefined) this.requestFailed(client, e.message);
        throw e;
      },
    );
    return { id: job.id, result };
  }

  cancel(id: number): void {
    this.client?.cancel(id);
  }

  /** Cancels everything queued or running (later requests run normally). */
  cancelAll(): void {
    if (this.lastId > 0) this.client?.cancel(this.lastId);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.generation++;
    clearTimeout(this.restartTimer);
    await this.stopClient();
  }

  /** Stops the current engine (if any) and starts one with `this.options`. */
  private launch(): void {
    clearTimeout(this.restartTimer);
    void this.stopClient();
    const options = this.options!;
    const gen = ++this.generation;
    this.onState({ kind: 'loading', target: this.label });
    const t0 = performance.now();
    const drafters = options.drafters ?? [];
    this.log.info(
      `loading target ${options.target}${describeVariants(options)}` +
        `${drafters.length ? ` with drafters ${drafters.map((d) => d.name).join(', ')}` : ''}; device: ${options.device ?? 'cpu'}` +
        `${options.threads ? `, ${options.threads} threads` : ''}`,
    );
    let client: EngineClient;
    try {
      client = new EngineClient(options, {
        script: this.hostOptions.script,
        watchdog: this.hostOptions.watchdog,
        slowestMs: this.slowestMs,
        onDeath: (reason) => {
          if (gen === this.generation) this.engineFailed(reason);
        },
        onStderr: (line) => this.log.debug(`engine: ${line}`),
        onFused: (e) => {
          if (gen !== this.generation) return;
          if (e.type === 'fused-progress') {
            this.onState({ kind: 'ready', device: client.engineInfo?.device, optimizing: (100 * e.done) / e.total });
            return;
          }
          this.log.info(e.type === 'fused-ready' ? `${e.file}: fused-operator copy made; swapping it in` : e.note);
          if (e.type === 'fused-applied') this.hostOptions.onModelSwapped?.();
          if (e.type !== 'fused-ready') this.onState({ kind: 'ready', device: client.engineInfo?.device });
        },
      });
    } catch (e) {
      this.readyPromise = Promise.reject(e as Error);
      this.readyPromise.catch(() => undefined);
      this.loadFailed(gen, (e as Error).message);
      return;
    }
    this.client = client;
    this.log.debug(`engine process ${client.pid ?? '?'} started`);
    this.readyPromise = client.ready().then(
      (info) => {
        if (gen === this.generation) {
          this.log.info(
            `engine ready in ${(performance.now() - t0).toFixed(0)} ms: target ${info.target}, ` +
              `FIM ${info.fim}, vocabulary ${info.vocabSize}, context ${info.maxPositions} positions, ` +
              `drafters ${info.drafters.join(', ')}; ${describeOutcome(info.device)}` +
              (info.exactness ? `; exactness: ${describeVerdict(info.exactness)}${info.exactness.cached ? ' (cached)' : ` (probed in ${info.exactness.seconds.toFixed(1)} s)`}` : ''),
          );
          for (const n of info.loadNotes ?? []) this.log.info(n);
          this.onState({ kind: 'ready', device: info.device });
        }
        return info;
      },
      (e: Error) => {
        // A death while loading is reported (and restarted) by onDeath; a load that failed is final.
        if (gen === this.generation && client.death === undefined) this.loadFailed(gen, e.message);
        throw e;
      },
    );
    this.readyPromise.catch(() => undefined);
  }

  private loadFailed(gen: number, message: string): void {
    if (gen !== this.generation) return;
    this.log.error(`the engine failed to load: ${message}`);
    this.onState({ kind: 'error', message });
  }

  /** A request threw inside the engine: tell the user once; after several in a row, restart the engine. */
  private requestFailed(client: EngineClient, message: string): void {
    this.requestErrors++;
    this.log.error(`completion failed in the engine: ${message}`);
    this.hostOptions.onNotice?.(`completion failed in the engine: ${message}`);
    const limit = this.hostOptions.requestErrorsBeforeRestart ?? 3;
    if (this.requestErrors >= limit) {
      this.requestErrors = 0;
      const reason = `${limit} completion${limit > 1 ? 's' : ''} in a row failed in the engine (last: ${message})`;
      // Counted now, so that ready() already waits for the new engine; the old one's death is then not news.
      this.engineFailed(reason);
      client.kill(reason);
    }
  }

  /** The engine process died: pending requests were rejected by the client; restart after a back-off, or stop. */
  private engineFailed(reason: string): void {
    this.slowestMs = Math.max(this.slowestMs, this.client?.slowest ?? 0);
    this.client = undefined;
    this.lastId = 0;
    this.failures++;
    const gen = ++this.generation;
    if (this.failures > this.restartDelays.length) {
      const message =
        `the engine failed ${this.failures} times in a row and was not restarted again (last: ${reason}). ` +
        'Change a setting or run "Lockstep: Restart Engine" to try again.';
      this.log.error(message);
      this.hostOptions.onNotice?.(message);
      this.readyPromise = Promise.reject(new Error(message));
      this.readyPromise.catch(() => undefined);
      this.onState({ kind: 'error', message });
      return;
    }
    const delay = this.restartDelays[this.failures - 1];
    this.restartCount++;
    this.log.error(`${reason}; restarting the engine in ${(delay / 1000).toFixed(1)} s (attempt ${this.failures} of ${this.restartDelays.length})`);
    this.hostOptions.onNotice?.(`${reason}. Lockstep restarts it.`);
    this.onState({ kind: 'loading', target: this.label });
    // ready() waits through the delay and the new load.
    this.readyPromise = new Promise<void>((resolve) => {
      this.restartTimer = setTimeout(resolve, delay);
    }).then(() => {
      if (gen !== this.generation || this.disposed) throw new Error('superseded');
      this.launch();
      return this.readyPromise!;
    });
    this.readyPromise.catch(() => undefined);
  }

  private stopClient(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    this.lastId = 0;
    if (!old) return Promise.resolve();
    return old.dispose().catch((e: Error) => this.log.warn(`stopping the old engine: ${e.message}`));
  }
}
