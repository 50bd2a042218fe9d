/**
 * What the server needs of its engine: its state (for /health), its description, and one completion at a time with
 * cancellation. `hostBackend` is the real one: an EngineHost (src/engine/process/engineHost.ts), the same supervision the
 * extension uses — the engine in its own process, restarted with back-off after a crash, a watchdog on hung calls.
 * Tests wrap it to count engine calls (a refused request must never reach the engine).
 */
import { EngineHost, type HostLogger } from '../engine/process/engineHost';
import type { EngineState } from '../engine/process/engineState';
import type { CompletionRequest, CompletionResult, EngineInfo, EngineOptions } from '../engine/request/requests';

export interface CompletionBackend {
  state(): EngineState;
  /** The loaded engine's description (undefined until ready). */
  info(): EngineInfo | undefined;
  /** Runs `request`; when `signal` aborts, the engine stops at its next checkpoint (the result then says cancelled). */
  complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult>;
  /** Engines restarted after failures. */
  restarts(): number;
  dispose(): Promise<void>;
}

export function hostBackend(options: EngineOptions, label: string, log: HostLogger, script?: string): CompletionBackend {
  let state: EngineState = { kind: 'loading', target: label };
  let info: EngineInfo | undefined;
  const host: EngineHost = new EngineHost(log, (s) => {
    state = s;
    if (s.kind !== 'ready') info = undefined;
    else void host.ready().then((i) => (info = i), () => undefined);
  }, { script });
  // The fused copy is made before the engine is ready ('wait', as `lockstep complete` does): a copy swapped in
  // later would change logits in their last bits, and the server's bytes must equal the CLI's from the first request.
  host.configure({ ...options, fusedMode: 'wait' }, label);
  return {
    state: () => state,
    info: () => (state.kind === 'ready' ? info : undefined),
    async complete(request, signal) {
      const job = host.complete(request, false);
      const stop = (): void => host.cancel(job.id);
      if (signal.aborted) stop();
      signal.addEventListener('abort', stop, { once: true });
      try {
        return await job.result;
      } finally {
        signal.removeEventListener('abort', stop);
      }
    },
    restarts: () => host.restarts,
    dispose: () => host.dispose(),
  };
}
