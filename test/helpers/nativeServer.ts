/**
 * `lockstep serve`'s native endpoints (POST /lockstep/v1/complete, GET /lockstep/v1/info, GET /health) over the
 * real engine loaded in this process, for the extension's remote-mode tests: the real server (src/server's
 * LockstepServer) over an in-process engine. It records each request's headers, can require a bearer token, and can
 * hold a completion until its client goes away (to see an abort arrive).
 */
import type * as http from 'node:http';
import { Engine, type CompletionRequest, type EngineOptions } from '../../src/engine/process/engine';
import type { ServeConfig } from '../../src/server/config';
import type { CompletionBackend } from '../../src/server/engineBackend';
import { LockstepServer } from '../../src/server/server';

export interface NativeServer {
  url: string;
  /** Each request: method, path, headers (lower-case names), the parsed body of a POST. */
  requests: { method: string; path: string; headers: http.IncomingHttpHeaders; body?: CompletionRequest }[];
  /** A token to require (undefined: none). */
  token: string | undefined;
  /** While true, completions are held until the client closes the connection. */
  hold: boolean;
  /** Completions whose client closed the connection before the answer. */
  aborted: number;
  /** Resolves at the next abort. */
  nextAbort(): Promise<void>;
  close(): Promise<void>;
}

export async function startNativeServer(options: EngineOptions): Promise<NativeServer> {
  return startReal(await Engine.create(options));
}

/** The real LockstepServer over `engine` (in this process, one completion at a time), its requests recorded. */
async function startReal(engine: Engine): Promise<NativeServer> {
  let abortWaiters: (() => void)[] = [];
  const info = engine.info();
  const backend: CompletionBackend = {
    state: () => ({ kind: 'ready', device: info.device }),
    info: () => engine.info(),
    restarts: () => 0,
    dispose: () => engine.dispose(),
    async complete(request: CompletionRequest, signal: AbortSignal) {
      const onAbort = (): void => {
        s.aborted++;
        for (const w of abortWaiters) w();
        abortWaiters = [];
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        if (s.hold) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        return await engine.complete(request, { get cancelled() { return signal.aborted; } });
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
  const config: ServeConfig = {
    host: '127.0.0.1', port: 0, queue: 16, maxBodyBytes: 1024 * 1024, maxTokensLimit: 1024, timeLimitMs: 60_000,
    shutdownDeadlineMs: 2000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, logPrompts: false,
    defaults: { drafter: 'auto', coupling: 'gumbel', seed: 0, sampling: { temperature: 0.2, topK: 0, topP: 1 }, gamma: 'auto', maxTokens: 64, mode: 'block' },
    targetId: 'lockstep-target', drafters: info.drafters, reproduceArgs: ['--target', 'lockstep-target'], wireMode: 'free',
  };
  const server = new LockstepServer(config, backend, () => undefined);
  const requests: NativeServer['requests'] = [];
  // What reached the server, seen on its socket (the server reads the body itself).
  const raw = (server as unknown as { http: http.Server }).http;
  raw.prependListener('request', (req: http.IncomingMessage) => {
    const entry: NativeServer['requests'][number] = { method: req.method ?? '', path: (req.url ?? '/').split('?')[0], headers: req.headers };
    requests.push(entry);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (chunks.length > 0) entry.body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CompletionRequest;
    });
  });
  const { port } = await server.listen();
  const s: NativeServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    get token() {
      return server.config.token;
    },
    set token(t: string | undefined) {
      server.config.token = t;
    },
    hold: false,
    aborted: 0,
    nextAbort: () => new Promise<void>((resolve) => abortWaiters.push(resolve)),
    close: () => server.close(),
  };
  return s;
}
