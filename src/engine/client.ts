/** Runs the engine in a worker thread; completions are promises, and a newer request can cancel older ones. */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CompletionRequest, CompletionResult, EngineInfo, EngineOptions } from './engine';
import type { FromWorker, ToWorker } from './protocol';

interface Pending {
  resolve(r: CompletionResult): void;
  reject(e: Error): void;
}

export class EngineClient {
  private readonly worker: Worker;
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readyPromise: Promise<EngineInfo>;

  /** `workerScript` defaults to worker.js next to this file (true for both the tsc output and the bundle). */
  constructor(options: EngineOptions, workerScript = path.join(__dirname, 'worker.js')) {
    this.worker = new Worker(workerScript);
    let readyResolve!: (i: EngineInfo) => void;
    let readyReject!: (e: Error) => void;
    this.readyPromise = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.readyPromise.catch(() => undefined);
    this.worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') readyResolve(msg.info);
      else if (msg.type === 'result') this.settle(msg.id, (p) => p.resolve(msg.result));
      else if (msg.type === 'error') {
        if (msg.id === null) readyReject(new Error(msg.message));
        else this.settle(msg.id, (p) => p.reject(new Error(msg.message)));
      }
    });
    const fail = (e: Error): void => {
      readyReject(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`engine worker exited (code ${code})`)));
    this.post({ type: 'init', options, cancel: this.cancelFlag.buffer as SharedArrayBuffer });
  }

  ready(): Promise<EngineInfo> {
    return this.readyPromise;
  }

  /** Starts a completion. `supersede` cancels every earlier request still queued or running. */
  complete(request: CompletionRequest, supersede = true): { id: number; result: Promise<CompletionResult> } {
    const id = this.nextId++;
    if (supersede) this.cancelBefore(id);
    const result = new Promise<CompletionResult>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.post({ type: 'complete', id, request });
    return { id, result };
  }

  /** Cancels request `id` (and any earlier one); it stops between model calls and resolves as cancelled. */
  cancel(id: number): void {
    this.cancelBefore(id + 1);
  }

  async dispose(): Promise<void> {
    this.post({ type: 'dispose' });
    await new Promise<void>((res) => {
      const t = setTimeout(() => void this.worker.terminate().then(() => res()), 5000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        res();
      });
    });
  }

  private cancelBefore(id: number): void {
    if (Atomics.load(this.cancelFlag, 0) < id) Atomics.store(this.cancelFlag, 0, id);
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    f(p);
  }

  private post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }
}
