/**
 * `lockstep serve`'s native endpoints (POST /lockstep/v1/complete, GET /lockstep/v1/info, GET /health) over the
 * real engine loaded in this process, for the extension's remote-mode tests: the real server (src/server's
 * LockstepServer) when it is built, else (or with LOCKSTEP_TEST_STANDIN_SERVE=1) a stand-in of its contract. Either
 * records each request's headers, can require a bearer token, and can hold a completion until its client goes away
 * (to see an abort arrive).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine, type CompletionRequest, type EngineOptions } from '../../src/engine/engine';

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

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The real server's module, when this build has it (required by path: the tests compile without it). */
function realServer(): { LockstepServer: new (config: unknown, backend: unknown, log: (l: string) => void) => { listen(): Promise<{ port: number }>; close(): Promise<void>; config: { token?: string } } } | undefined {
  const file = nodePath.join(__dirname, '..', '..', 'src', 'server', 'server.js');
  if (process.env.LOCKSTEP_TEST_STANDIN_SERVE === '1' || !fs.existsSync(file)) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file);
}

export async function startNativeServer(options: EngineOptions): Promise<NativeServer> {
  const engine = await Engine.create(options);
  const real = realServer();
  if (real) return startReal(real, engine);
  let queue: Promise<unknown> = Promise.resolve();
  let abortWaiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      let body: CompletionRequest | undefined;
      if (req.method === 'POST') {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CompletionRequest;
        } catch {
          send(res, 400, { error: 'the body is not JSON' });
          return;
        }
      }
      s.requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      if (path === '/health') return send(res, 200, { status: 'ok' });
      if (s.token !== undefined && req.headers.authorization !== `Bearer ${s.token}`) return send(res, 401, { error: 'a bearer token is required' });
      if (req.method === 'GET' && path === '/lockstep/v1/info') return send(res, 200, engine.info());
      if (req.method !== 'POST' || path !== '/lockstep/v1/complete' || !body) return send(res, 404, { error: `no ${req.method} ${path}` });
      let closed = false;
      res.on('close', () => {
        if (res.writableEnded) return;
        closed = true;
        s.aborted++;
        for (const w of abortWaiters) w();
        abortWaiters = [];
      });
      if (s.hold) return; // answered never: the client's abort ends it
      const request = body;
      const job = queue.then(() => (closed ? undefined : engine.complete(request, { get cancelled() { return closed; } })));
      queue = job.catch(() => undefined);
      job.then(
        (result) => {
          if (!result || closed) return;
          send(res, 200, { text: result.text, result, lockstep: { seed: result.seed, target: engine.info().target, drafter: result.drafter, coupling: result.coupling, reproduce: 'lockstep complete …', request } });
        },
        (e: Error) => send(res, 400, { error: e.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const s: NativeServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: [],
    token: undefined,
    hold: false,
    aborted: 0,
    nextAbort: () => new Promise<void>((resolve) => abortWaiters.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.dispose();
    },
  };
  return s;
}

/** The real LockstepServer over `engine` (in this process, one completion at a time), its requests recorded. */
async function startReal(real: NonNullable<ReturnType<typeof realServer>>, engine: Engine): Promise<NativeServer> {
  let abortWaiters: (() => void)[] = [];
  const info = engine.info();
  const backend = {
    state: () => ({ kind: 'ready' }),
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
  const config = {
    host: '127.0.0.1', port: 0, queue: 16, maxBodyBytes: 1024 * 1024, maxTokensLimit: 1024, timeLimitMs: 60_000,
    shutdownDeadlineMs: 2000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, logPrompts: false,
    defaults: { drafter: 'auto', coupling: 'gumbel', seed: 0, sampling: { temperature: 0.2, topK: 0, topP: 1 }, gamma: 'auto', maxTokens: 64, mode: 'block' },
    targetId: 'lockstep-target', drafters: info.drafters, reproduceArgs: ['--target', 'lockstep-target'],
  };
  const server = new real.LockstepServer(config, backend, () => undefined);
  const requests: NativeServer['requests'] = [];
  // What reached the server, seen on its socket (the server reads the body itself).
  const raw = (server as unknown as { http: import('node:http').Server }).http;
  raw.prependListener('request', (req: import('node:http').IncomingMessage) => {
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
