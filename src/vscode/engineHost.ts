/**
 * The engine as the extension sees it: one EngineClient (a worker thread) at a time, restarted when the target or
 * the execution options change, or when a drafter model that is not loaded is needed. A restart keeps the drafters
 * already loaded for the same target, so switching drafters back and forth loads each model once.
 * No `vscode` import: the extension passes a logger and a state callback.
 */
import * as path from 'node:path';
import { EngineClient } from '../engine/client';
import type { CompletionRequest, CompletionResult, DrafterSpec, EngineInfo, EngineOptions } from '../engine/engine';
import { describeDevice } from './deviceNotice';
import type { EngineState } from './format';
import { engineCovers } from './models';

export interface HostLogger {
  trace?(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/**
 * The largest request id the shared cancel flag can hold: cancel(LAST_ID) cancels every request the client will ever
 * get, so it is only for a client being stopped. A live client is cancelled up to its last issued id.
 */
const LAST_ID = 0x7ffffffe;

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
  private readyPromise: Promise<EngineInfo> | undefined;
  private generation = 0;
  private disposed = false;
  /** The id of the last request given to the current client (0: none yet). */
  private lastId = 0;

  constructor(
    private readonly log: HostLogger,
    private readonly onState: (s: EngineState) => void,
    private readonly workerScript?: string,
    /** Starts a client; tests replace it. */
    private readonly start: (o: EngineOptions, script?: string) => EngineClient = (o, script) =>
      script === undefined ? new EngineClient(o) : new EngineClient(o, script),
  ) {}

  /** The options of the engine loaded or loading now. */
  get current(): EngineOptions | undefined {
    return this.options;
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
    if (this.options && engineCovers({ ...this.options, drafters: [] }, { ...want, drafters: [] })) {
      const names = new Set(drafters.map((d) => d.name));
      for (const d of this.options.drafters ?? []) if (!names.has(d.name)) drafters.push(d);
      drafters = drafters.sort((a, b) => a.name.localeCompare(b.name));
    }
    const options: EngineOptions = { ...want, drafters };
    this.stopClient();
    const gen = ++this.generation;
    this.options = options;
    this.onState({ kind: 'loading', target: label });
    const t0 = performance.now();
    this.log.info(
      `loading target ${options.target}${describeVariants(options)}` +
        `${drafters.length ? ` with drafters ${drafters.map((d) => d.name).join(', ')}` : ''}; device: ${options.device ?? 'cpu'}` +
        `${options.threads ? `, ${options.threads} threads` : ''}`,
    );
    let client: EngineClient;
    try {
      client = this.start(options, this.workerScript);
    } catch (e) {
      const message = (e as Error).message;
      this.readyPromise = Promise.reject(new Error(message));
      this.readyPromise.catch(() => undefined);
      this.log.error(`the engine could not start: ${message}`);
      this.onState({ kind: 'error', message });
      return true;
    }
    this.client = client;
    this.readyPromise = client.ready().then(
      (info) => {
        if (gen === this.generation) {
          const ms = performance.now() - t0;
          this.log.info(
            `engine ready in ${ms.toFixed(0)} ms: target ${info.target}, FIM ${info.fim}, vocabulary ${info.vocabSize}, ` +
              `context ${info.maxPositions} positions, drafters ${info.drafters.join(', ')}; ${describeDevice(info.device)}`,
          );
          this.onState({ kind: 'ready', device: info.device });
        }
        return info;
      },
      (e: Error) => {
        if (gen === this.generation) {
          this.log.error(`the engine failed to load: ${e.message}`);
          this.onState({ kind: 'error', message: e.message });
        }
        throw e;
      },
    );
    this.readyPromise.catch(() => undefined);
    return true;
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
    if (!this.client) throw new Error('no engine is running');
    const job = this.client.complete(request, supersede);
    this.lastId = job.id;
    return job;
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
    await this.stopClient();
  }

  private stopClient(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    this.lastId = 0;
    if (!old) return Promise.resolve();
    old.cancel(LAST_ID);
    return old.dispose().catch((e: Error) => this.log.warn(`stopping the old engine: ${e.message}`));
  }
}
