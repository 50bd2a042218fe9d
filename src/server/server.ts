/**
 * `lockstep serve`'s HTTP server, on Node's own `http` module: no dependency to vet or update, and full control of
 * what a completion server must get right — header and request time limits (a slow client cannot hold a slot), the
 * body limit, one write per answer, and closing connections on shutdown. A framework would add little over a route
 * table this small.
 *
 * Every request: CORS headers only when --cors names an origin; the bearer token (all routes but /health); the route;
 * errors answered as `{"error": "<one line>"}` with their status. One log line per request, never the prompt unless
 * --log-prompts. close() is the graceful shutdown SIGTERM/SIGINT call: stop accepting, answer waiting requests 503,
 * let the running one finish within the deadline, else cancel it (503), then stop the engine.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerMatches } from './auth';
import type { ServeConfig } from './config';
import type { CompletionBackend } from './engineBackend';
import { FORMAT_ROUTES } from './formatRoutes';
import { HttpError } from './httpError';
import { Metrics } from './metrics';
import { RequestQueue } from './queue';
import { NATIVE_ROUTES, OPEN_ROUTES, type Answer, type Handler, type RouteContext } from './routes';

export type RouteTable = Record<string, Record<string, Handler>>;

export class LockstepServer {
  private readonly http: http.Server;
  readonly queue: RequestQueue;
  readonly metrics = new Metrics();
  private readonly routes: RouteTable;
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(
    readonly config: ServeConfig,
    private readonly backend: CompletionBackend,
    private readonly log: (line: string) => void,
    extraRoutes: RouteTable = {},
  ) {
    this.queue = new RequestQueue(config.queue);
    this.routes = { ...NATIVE_ROUTES, ...FORMAT_ROUTES, ...extraRoutes };
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.headersTimeout = config.headersTimeoutMs;
    this.http.requestTimeout = config.requestTimeoutMs;
  }

  /** Starts listening; resolves with the address actually bound (port 0 picks one). */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.config.port, this.config.host, () => {
        this.http.off('error', reject);
        const a = this.http.address() as AddressInfo;
        resolve({ host: this.config.host, port: a.port });
      });
    });
  }

  /** Graceful shutdown (idempotent); resolves once every accepted request is answered and the engine stopped. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.http.close();
    this.http.closeIdleConnections();
    const stopping = (): HttpError => new HttpError(503, 'the server is shutting down', { 'Retry-After': '5', Connection: 'close' });
    this.queue.cancelWaiting(stopping);
    if (!(await this.queue.settled(this.config.shutdownDeadlineMs))) {
      this.queue.cancelRunning(stopping());
      await this.queue.settled(this.config.shutdownDeadlineMs);
    }
    // Answers being written (and requests still reading their bodies) finish; then nothing is left to lose.
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.config.shutdownDeadlineMs);
        this.idle = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    this.http.closeAllConnections();
    await this.backend.dispose();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    this.inFlight++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const methods = this.routes[url.pathname];
    const route = methods ? url.pathname : 'other';
    const client = headerValue(req.headers['x-lockstep-client']);
    let answer: Answer;
    try {
      answer = await this.answer(req, res, url.pathname, methods, client);
    } catch (e) {
      answer = e instanceof HttpError
        ? { status: e.status, json: { error: e.message }, headers: { ...e.headers } }
        : { status: 500, json: { error: `internal error: ${(e as Error).message}` } };
      // A 413 stops reading the body: the connection cannot be reused.
      if (answer.status === 413) answer.headers = { ...answer.headers, Connection: 'close' };
    }
    this.write(res, answer);
    const ms = performance.now() - t0;
    this.metrics.request(route, answer.status, ms / 1000);
    this.log(`${req.method} ${url.pathname} ${answer.status} ${ms.toFixed(0)} ms${client ? ` client ${client}` : ''}` +
      (answer.status >= 400 && answer.json ? ` (${(answer.json as { error?: string }).error ?? ''})` : ''));
    if (--this.inFlight === 0) this.idle?.();
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse, path: string, methods: Record<string, Handler> | undefined, client: string | undefined): Promise<Answer> {
    if (this.config.cors !== undefined && req.method === 'OPTIONS') {
      return { status: 204, headers: { 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Authorization, Content-Type, X-Lockstep-Client', 'Access-Control-Max-Age': '600' } };
    }
    if (this.closing) throw new HttpError(503, 'the server is shutting down', { 'Retry-After': '5', Connection: 'close' });
    if (!methods) throw new HttpError(404, `no route ${path}`);
    const handler = methods[req.method ?? ''];
    if (!handler) throw new HttpError(405, `${path} takes ${Object.keys(methods).join(', ')}`, { Allow: Object.keys(methods).join(', ') });
    if (this.config.token !== undefined && !OPEN_ROUTES.has(path) && !bearerMatches(headerValue(req.headers.authorization), this.config.token)) {
      throw new HttpError(401, req.headers.authorization ? 'wrong token' : 'this server needs a token: Authorization: Bearer <token>', { 'WWW-Authenticate': 'Bearer' });
    }
    const ctx: RouteContext = { config: this.config, backend: this.backend, queue: this.queue, metrics: this.metrics, req, res, client, log: this.log };
    return handler(ctx);
  }

  private write(res: http.ServerResponse, a: Answer): void {
    if (res.destroyed || res.writableEnded) return; // the client went away: nobody to answer
    const body = a.json !== undefined ? `${JSON.stringify(a.json)}\n` : a.text ?? '';
    const headers: Record<string, string> = { ...a.headers };
    if (a.status !== 204) headers['Content-Type'] = a.json !== undefined ? 'application/json; charset=utf-8' : a.contentType ?? 'text/plain; charset=utf-8';
    if (this.config.cors !== undefined) Object.assign(headers, { 'Access-Control-Allow-Origin': this.config.cors, Vary: 'Origin' });
    res.writeHead(a.status, { ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
