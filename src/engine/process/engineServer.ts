/**
 * The engine process's side of the protocol (protocol.ts): loads the engine on `init`, runs one request at a time,
 * and between model calls yields to its event loop (the CancelSignal's checkpoint) so that a cancellation or a newer
 * request arriving over IPC is seen before the next call, and a heartbeat tells the client's watchdog it is alive.
 * A request that throws resets the models' caches (a failed call may leave them half-written) and reports the
 * error; the process itself stays up. No `vscode` import, no worker thread: the whole process is the engine's.
 */
import type { CancelSignal } from '../decode/decode';
import type { CompletionRequest, CompletionResult, EngineInfo, EngineOptions } from '../request/requests';
import type { FusedEvent } from '../runtime/fusedUpgrade';
import { HEARTBEAT_MS, type FromEngine, type ToEngine } from './protocol';

/** What the server needs of an engine (Engine has it; tests serve stand-ins that fail on purpose). */
export interface ServedEngine {
  info(): EngineInfo;
  complete(req: CompletionRequest, signal: CancelSignal): Promise<CompletionResult>;
  resetCaches(): void;
  dispose(): Promise<void>;
  /** The target's fused copy made in the background (Engine has them; test stand-ins need not). */
  onEvent?(listener: (e: FusedEvent) => void): void;
  applyFusedCopy?(): Promise<string | null>;
}

export function serveEngine(create: (options: EngineOptions) => Promise<ServedEngine>): void {
  const send = (msg: FromEngine): void => {
    if (process.connected) process.send!(msg);
  };
  if (!process.send) throw new Error('the engine process must be started with an IPC channel (child_process.fork)');
  // The client went away (the editor closed or crashed): nothing will read our results.
  process.on('disconnect', () => process.exit(0));

  let engine: ServedEngine | null = null;
  let cancelBelow = 0;
  let slowestMs = 0;
  let runningId = 0;
  let lastCheckpoint = 0;
  let lastBeat = 0;
  // Requests run one at a time, in arrival order (the client sends the next only when one finished).
  let queue: Promise<void> = Promise.resolve();

  const checkpoint = async (): Promise<void> => {
    const now = performance.now();
    slowestMs = Math.max(slowestMs, now - lastCheckpoint);
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastCheckpoint = performance.now();
    if (lastCheckpoint - lastBeat >= HEARTBEAT_MS) {
      lastBeat = lastCheckpoint;
      send({ type: 'beat', id: runningId, slowestMs });
    }
  };

  const run = async (id: number, request: CompletionRequest, arrived: number): Promise<void> => {
    if (!engine) {
      send({ type: 'error', id, message: 'the engine is not loaded' });
      return;
    }
    runningId = id;
    lastCheckpoint = lastBeat = performance.now();
    const signal: CancelSignal = { get cancelled() { return id < cancelBelow; }, checkpoint };
    try {
      const result = await engine.complete(request, signal);
      slowestMs = Math.max(slowestMs, performance.now() - lastCheckpoint);
      send({ type: 'result', id, result, slowestMs, engineMs: performance.now() - arrived });
    } catch (e) {
      try {
        engine.resetCaches();
      } catch {
        // the error below is the one worth reporting
      }
      send({ type: 'error', id, message: (e as Error).message, slowestMs });
    }
  };

  process.on('message', (msg: ToEngine) => {
    if (msg.type === 'cancel') {
      cancelBelow = Math.max(cancelBelow, msg.below);
    } else if (msg.type === 'init') {
      queue = queue.then(async () => {
        try {
          const e = await create(msg.options);
          engine = e;
          e.onEvent?.((event) => {
            send({ type: 'fused', event });
            // A ready copy is swapped in between requests, in the queue's order.
            if (event.type === 'fused-ready') queue = queue.then(async () => { await e.applyFusedCopy?.().catch(() => null); });
            if (event.type === 'fused-applied' || event.type === 'fused-failed') send({ type: 'info', info: e.info() });
          });
          send({ type: 'ready', info: e.info() });
        } catch (e) {
          send({ type: 'error', id: null, message: (e as Error).message });
        }
      });
    } else if (msg.type === 'complete') {
      const arrived = performance.now();
      queue = queue.then(() => run(msg.id, msg.request, arrived));
    } else if (msg.type === 'dispose') {
      queue = queue.then(async () => {
        await engine?.dispose().catch(() => undefined);
        engine = null;
        process.exit(0);
      });
    }
  });
}
