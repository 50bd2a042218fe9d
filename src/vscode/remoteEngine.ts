/**
 * The engine of a `lockstep serve` server (`lockstep.server.url`), over its native endpoints:
 * `GET /lockstep/v1/info` (EngineInfo) and `POST /lockstep/v1/complete` (the CompletionRequest as the extension
 * builds it → `{ text, result, lockstep }`). Same surface as the local EngineHost (CompletionEngine), so the provider,
 * the seed commands, the cache and Verify work unchanged: the request's seed and drafter go to the server as they are.
 *
 * Cancelling a request aborts its HTTP request (the server cancels it when the connection closes); a newer request
 * supersedes the older ones here, and the server's queue keeps one waiting request per client (X-Lockstep-Client).
 * Failures take the local engine's path: a state for the status bar ("server unreachable: …") and one notice per
 * text. The bearer token comes from VS Code's SecretStorage at each request. No `vscode` import.
 */
import { randomUUID } from 'node:crypto';
import type { CompletionRequest, CompletionResult, EngineInfo } from '../engine/request/requests';
import { notStartedResult } from '../engine/request/requests';
import type { CompletionEngine, CompletionJob } from './completionEngine';
import type { EnginePlan } from './enginePlan';
import type { LockstepSettings } from './settings';

/** One id per extension host (one VS Code window): the server's queue replaces this client's waiting request. */
export const CLIENT_ID = `vscode-${randomUUID()}`;

export const TOKEN_NOTICE = 'the server needs a token: Lockstep: Set Server Token…';

/** The states this engine reports (a subset of the engine host's EngineState). */
export type RemoteState = { kind: 'loading'; target: string } | { kind: 'ready' } | { kind: 'error'; message: string };

export interface RemoteEngineOptions {
  /** http(s)://host:port[/prefix], without a trailing slash (settings.ts validates it). */
  url: string;
  /** The bearer token (SecretStorage); undefined or '' = none. */
  token: () => Thenable<string | undefined> | Promise<string | undefined>;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
  onState: (s: RemoteState) => void;
  /** A message for the user (the controller shows each text once). */
  onNotice: (message: string) => void;
  /** The server now runs another target: completions cached before are not what it gives now. */
  onTargetChanged?: () => void;
  clientId?: string;
  /** Limits: the info request, a whole completion (queue wait included), the wait before asking /info again after a failure. */
  infoTimeoutMs?: number;
  completeTimeoutMs?: number;
  retryMs?: number;
}

class RemoteError extends Error {
  constructor(message: string, readonly kind: 'unreachable' | 'auth' | 'busy' | 'refused', readonly retryAfterMs = 0) {
    super(message);
  }
}

/** "qwen2.5-coder-1.5b" from a path or an id the server names its target by. */
export function shortTarget(target: string): string {
  return target.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || target;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export class RemoteEngine implements CompletionEngine {
  readonly host: string;
  private readonly clientId: string;
  private infoPromise: Promise<EngineInfo> | undefined;
  private infoFailedAt = 0;
  private retryAfterMs = 0;
  private lastTarget: string | undefined;
  private nextId = 0;
  private readonly jobs = new Map<number, AbortController>();
  private state: RemoteState['kind'] | undefined;
  private disposed = false;
  private plainWarned = false;
  /** The plan the controller shows: its target label becomes "<server's target> @ host:port" once /info answered. */
  private readonly target: EnginePlan['target'];

  constructor(private readonly o: RemoteEngineOptions) {
    this.host = new URL(o.url).host;
    this.clientId = o.clientId ?? CLIENT_ID;
    this.target = { spec: o.url, dir: o.url, variants: {}, label: `server @ ${this.host}` };
  }

  get url(): string {
    return this.o.url;
  }

  /** A plan for the controller (status bar, menu, cache key, the request's drafter). Model settings are the server's. */
  planFor(settings: Pick<LockstepSettings, 'drafter'>): EnginePlan {
    const d = settings.drafter;
    return {
      key: `server ${this.o.url}`,
      options: { target: this.o.url },
      target: this.target,
      // The server's `auto` unless the user chose a drafter (a server that has not loaded it says so).
      drafter: { spec: d, request: d, label: d === 'auto' ? 'auto (server)' : d },
      notes: [],
    };
  }

  /** The server's EngineInfo; asked again after a failure (not sooner than retryMs) or after reset(). */
  ready(): Promise<EngineInfo> {
    if (this.disposed) return Promise.reject(new Error('the server connection is closed'));
    const wait = Math.max(this.o.retryMs ?? 2000, this.retryAfterMs);
    if (this.infoPromise === undefined || (this.infoFailedAt > 0 && Date.now() - this.infoFailedAt >= wait)) {
      this.infoFailedAt = 0;
      const p = this.fetchInfo();
      this.infoPromise = p;
      p.catch(() => {
        if (this.infoPromise === p) this.infoFailedAt = Date.now();
      });
    }
    return this.infoPromise;
  }

  /** Forget what the server said (a new token, Restart Engine): the next ready() asks again. */
  reset(): void {
    this.infoPromise = undefined;
    this.infoFailedAt = 0;
    this.retryAfterMs = 0;
    void this.ready().catch(() => undefined);
  }

  complete(request: CompletionRequest, supersede = true): CompletionJob {
    if (supersede) this.cancelAll();
    const id = ++this.nextId;
    const abort = new AbortController();
    this.jobs.set(id, abort);
    const result = this.post(request, abort).finally(() => this.jobs.delete(id));
    return { id, result };
  }

  cancel(id: number): void {
    this.jobs.get(id)?.abort();
  }

  cancelAll(): void {
    for (const a of this.jobs.values()) a.abort();
  }

  dispose(): void {
    this.disposed = true;
    this.cancelAll();
  }

  private async headers(json: boolean): Promise<Record<string, string>> {
    const token = (await this.o.token())?.trim();
    const u = new URL(this.o.url);
    if (token && u.protocol === 'http:' && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname) && !this.plainWarned) {
      this.plainWarned = true;
      this.o.log.warn(`the server token goes to ${this.host} over plain http (readable on the network): use https:// for a server on another machine`);
    }
    return {
      'X-Lockstep-Client': this.clientId,
      ...(json ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    };
  }

  private async fetchInfo(): Promise<EngineInfo> {
    const abort = new AbortController();
    const ms = this.o.infoTimeoutMs ?? 10_000;
    const timer = setTimeout(() => abort.abort(), ms);
    try {
      const res = await fetch(`${this.o.url}/lockstep/v1/info`, { headers: await this.headers(false), signal: abort.signal });
      const body = await this.answer(res);
      const info = body as EngineInfo;
      if (typeof info?.target !== 'string' || !Array.isArray(info.drafters)) {
        throw new RemoteError(`${this.o.url} is not a Lockstep server (its /lockstep/v1/info is not an engine's info)`, 'refused');
      }
      this.retryAfterMs = 0;
      if (this.lastTarget !== undefined && this.lastTarget !== info.target) this.o.onTargetChanged?.();
      if (this.lastTarget !== info.target) {
        this.o.log.info(`server ${this.host}: target ${info.target}, drafters ${info.drafters.join(', ')}; client id ${this.clientId}`);
      }
      this.lastTarget = info.target;
      this.target.label = `${shortTarget(info.target)} @ ${this.host}`;
      this.setState({ kind: 'ready' });
      return info;
    } catch (e) {
      throw this.failed(e, abort.signal.aborted ? `no answer in ${seconds(ms)}` : undefined);
    } finally {
      clearTimeout(timer);
    }
  }

  private async post(request: CompletionRequest, abort: AbortController): Promise<CompletionResult> {
    const ms = this.o.completeTimeoutMs ?? 60_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, ms);
    try {
      for (;;) {
        try {
          const res = await fetch(`${this.o.url}/lockstep/v1/complete`, {
            method: 'POST', headers: await this.headers(true), body: JSON.stringify(request), signal: abort.signal,
          });
          const body = (await this.answer(res)) as { result?: CompletionResult };
          if (typeof body?.result?.text !== 'string') throw new RemoteError(`the server's answer has no completion (${this.o.url} is not a Lockstep server?)`, 'refused');
          if (this.state !== 'ready') this.setState({ kind: 'ready' });
          return body.result;
        } catch (e) {
          if (abort.signal.aborted && !timedOut) return notStartedResult(request);
          if (e instanceof RemoteError && e.kind === 'busy') {
            // Queue full or the model loading: wait as the server asks (the user's next keystroke cancels meanwhile).
            this.o.log.debug(`server busy: ${e.message}; asking again in ${seconds(e.retryAfterMs)}`);
            if (await this.pause(Math.min(e.retryAfterMs, 5000), abort.signal)) continue;
            if (!timedOut) return notStartedResult(request);
          }
          throw this.failed(e, timedOut ? `no completion in ${seconds(ms)}` : undefined, true);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves true after `ms`, false as soon as `signal` aborts. */
  private pause(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (v: boolean): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = (): void => done(false);
      const t = setTimeout(() => done(true), ms);
      signal.addEventListener('abort', onAbort);
    });
  }

  /** The JSON body of a 200; a RemoteError naming the server's one-line reason otherwise. */
  private async answer(res: Response): Promise<unknown> {
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      if (res.ok) throw new RemoteError(`the server's answer is not JSON (${this.o.url} is not a Lockstep server?)`, 'refused');
    }
    if (res.ok) return body;
    const said = typeof (body as { error?: unknown })?.error === 'string' ? (body as { error: string }).error : `HTTP ${res.status} ${res.statusText}`.trim();
    if (res.status === 401) throw new RemoteError(TOKEN_NOTICE, 'auth');
    if (res.status === 403) throw new RemoteError(`the server refused the token (${said}): Lockstep: Set Server Token…`, 'auth');
    if (res.status === 503 || res.status === 429) {
      const after = Number(res.headers.get('retry-after'));
      throw new RemoteError(`${said} (HTTP ${res.status})`, 'busy', Number.isFinite(after) && after > 0 ? after * 1000 : 1000);
    }
    throw new RemoteError(`the server refused the request: ${said}`, 'refused');
  }

  /** A failure → the status bar and one notice, as for a local engine; returns the error to throw. */
  private failed(e: unknown, timeout: string | undefined, completion = false): Error {
    let err: RemoteError;
    if (e instanceof RemoteError) err = e;
    else {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout ?? cause?.code ?? cause?.message ?? (e as Error).message;
      err = new RemoteError(`server unreachable: ${why} (${this.host})`, 'unreachable');
    }
    if (err.kind === 'busy') {
      this.retryAfterMs = err.retryAfterMs;
      this.o.log.info(`server ${this.host}: ${err.message}`);
      this.setState({ kind: 'loading', target: `server @ ${this.host}` });
      return err;
    }
    this.o.log.error(`server ${this.host}: ${err.message}`);
    if (err.kind === 'refused' && completion) {
      // The server answered: it works, it refused this request (e.g. a drafter it has not loaded).
      this.o.onNotice(err.message);
      return err;
    }
    // Unreachable or no token: ask /info again at the next completion (after retryMs).
    if (completion) this.infoFailedAt = this.infoFailedAt || Date.now();
    this.setState({ kind: 'error', message: err.message });
    this.o.onNotice(err.message);
    return err;
  }

  private setState(s: RemoteState): void {
    if (this.disposed) return;
    this.state = s.kind;
    this.o.onState(s);
  }
}
