/**
 * The server's one engine runs one request at a time, in arrival order; the others wait here. A client (its
 * X-Lockstep-Client header) has at most one waiting request: a newer one replaces it (latest wins, as in the editor),
 * the replaced one is answered 409 superseded. A full queue refuses at once (503 with Retry-After) rather than
 * letting latency grow without bound. Running one at a time is also what keeps the bytes: no batching across
 * requests, so no request's numbers depend on what else is running.
 */
import { HttpError, superseded } from './httpError';

export interface Ticket<T> {
  /** Settles with the work's result, or rejects with the HttpError it was cancelled with. */
  readonly result: Promise<T>;
  /** Withdraws the request: a waiting one never runs; a running one's signal aborts (its work stops the engine). */
  cancel(reason: HttpError): void;
}

interface Entry {
  client: string | undefined;
  start(): void;
  cancel(reason: HttpError): void;
  done: Promise<void>;
}

export class RequestQueue {
  private readonly waiting: Entry[] = [];
  private running: Entry | undefined;
  private maxWaitingSeen = 0;

  constructor(private readonly capacity: number, private readonly retryAfterS = 1) {}

  /** Requests waiting (the running one not counted). */
  get length(): number {
    return this.waiting.length;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** The most requests that waited at once. */
  get maxLength(): number {
    return this.maxWaitingSeen;
  }

  /** Queues `work`; throws a 503 HttpError when the queue is full. `work` gets a signal that aborts on cancel. */
  submit<T>(client: string | undefined, work: (signal: AbortSignal) => Promise<T>): Ticket<T> {
    if (client !== undefined) {
      const mine = this.waiting.find((e) => e.client === client);
      mine?.cancel(superseded());
    }
    if (this.waiting.length >= this.capacity) {
      throw new HttpError(503, `the queue is full (${this.capacity} waiting); retry later`, { 'Retry-After': String(this.retryAfterS) });
    }
    const abort = new AbortController();
    let settle!: { resolve(v: T): void; reject(e: Error): void };
    const result = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    let state: 'waiting' | 'running' | 'over' = 'waiting';
    const entry: Entry = {
      client,
      done,
      start: () => {
        state = 'running';
        work(abort.signal).then((v) => settle.resolve(v), (e: Error) => settle.reject(e)).finally(() => {
          state = 'over';
          finished();
          this.running = undefined;
          this.pump();
        });
      },
      cancel: (reason) => {
        if (state === 'over') return;
        settle.reject(reason);
        if (state === 'waiting') {
          state = 'over';
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          finished();
        } else {
          abort.abort(reason);
        }
      },
    };
    result.catch(() => undefined);
    this.waiting.push(entry);
    this.maxWaitingSeen = Math.max(this.maxWaitingSeen, this.waiting.length);
    this.pump();
    return { result, cancel: (reason) => entry.cancel(reason) };
  }

  /** Cancels every waiting request with `reason` (shutdown); the running one goes on. */
  cancelWaiting(reason: () => HttpError): void {
    for (const e of [...this.waiting]) e.cancel(reason());
  }

  /** Cancels the running request with `reason`. */
  cancelRunning(reason: HttpError): void {
    this.running?.cancel(reason);
  }

  /** Resolves when the running request (if any) has finished, or after `ms`; true when it finished. */
  async settled(ms: number): Promise<boolean> {
    const r = this.running;
    if (!r) return true;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (t = setTimeout(() => resolve(false), ms)));
    const ok = await Promise.race([r.done.then(() => true as const), timeout]);
    clearTimeout(t);
    return ok;
  }

  private pump(): void {
    if (this.running) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.running = next;
    next.start();
  }
}
