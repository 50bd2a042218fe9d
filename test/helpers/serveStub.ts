/**
 * `lockstep serve`'s server over a stand-in engine for the tests of its rules (queue, limits, safety, shutdown): each
 * completion waits until the test releases it (or its signal aborts), and every engine call is recorded, so a test
 * can show that a refused request never reached the engine.
 */
import type { EngineState } from '../../src/engine/process/engineState';
import { notStartedResult, type CompletionRequest, type CompletionResult } from '../../src/engine/request/requests';
import { SERVE_DEFAULTS, type ServeConfig } from '../../src/server/config';
import type { CompletionBackend } from '../../src/server/engineBackend';
import { LockstepServer } from '../../src/server/server';

export interface StubEngine extends CompletionBackend {
  calls: CompletionRequest[];
  /** Requests cancelled through their signal. */
  aborted: CompletionRequest[];
  /** Finishes the oldest running completion with text `text:<seed>`. */
  release(): void;
  /** Resolves when `n` completions have been started. */
  started(n: number): Promise<void>;
  setState(s: EngineState): void;
}

export function stubEngine(): StubEngine {
  const calls: CompletionRequest[] = [];
  const aborted: CompletionRequest[] = [];
  const pending: (() => void)[] = [];
  const waiters: { n: number; resolve(): void }[] = [];
  let state: EngineState = { kind: 'ready' };
  return {
    calls,
    aborted,
    state: () => state,
    setState: (s) => (state = s),
    info: () => undefined,
    restarts: () => 0,
    dispose: async () => undefined,
    release: () => pending.shift()?.(),
    started: (n) => new Promise((resolve) => {
      if (calls.length >= n) resolve();
      else waiters.push({ n, resolve });
    }),
    complete(req, signal): Promise<CompletionResult> {
      calls.push(req);
      for (const w of waiters.filter((x) => calls.length >= x.n)) w.resolve();
      return new Promise((resolve) => {
        const done = (): void => resolve({ ...notStartedResult(req), text: `text:${req.seed}`, tokens: 3, cancelled: false, stopReason: 'max-tokens' });
        pending.push(done);
        signal.addEventListener('abort', () => {
          aborted.push(req);
          const i = pending.indexOf(done);
          if (i >= 0) pending.splice(i, 1);
          resolve(notStartedResult(req));
        }, { once: true });
      });
    },
  };
}

export function stubConfig(over: Partial<ServeConfig> = {}): ServeConfig {
  return {
    ...SERVE_DEFAULTS,
    port: 0,
    logPrompts: false,
    defaults: { drafter: 'auto', coupling: 'gumbel', seed: 0, sampling: { temperature: 0.2, topK: 0, topP: 1 }, gamma: 'auto', maxTokens: 16, mode: 'block' },
    wireMode: 'free',
    targetId: 'lockstep-target',
    drafters: ['none', 'prompt-lookup', 'auto'],
    reproduceArgs: ['--target', 'lockstep-target'],
    ...over,
  };
}

export interface StubServer {
  server: LockstepServer;
  engine: StubEngine;
  url: string;
  logs: string[];
}

export async function startStub(over: Partial<ServeConfig> = {}): Promise<StubServer> {
  const engine = stubEngine();
  const logs: string[] = [];
  const server = new LockstepServer(stubConfig(over), engine, (l) => logs.push(l));
  const { port } = await server.listen();
  return { server, engine, url: `http://127.0.0.1:${port}`, logs };
}
