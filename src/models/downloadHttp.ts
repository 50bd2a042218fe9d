/**
 * HTTP for downloads: one request following redirects (relative or absolute, to another host or port, at most 10) with
 * an answer timeout and a stall timeout, the access token sent to the endpoint's own origin only; reading headers,
 * Content-Range and the first bytes of a body (HTML refusal); and the retry loop: which failures are transient and the
 * exponential backoff between attempts (honouring Retry-After). The Hub's URLs and headers are hubProtocol.ts's.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadError, cancelled, diskError } from './downloadErrors';
import { ProgressState, emit } from './downloadProgress';

/** What one request needs from the download's context. */
export interface HttpSettings {
  /** Sent as `Authorization: Bearer` to `endpointOrigin` only. */
  token?: string;
  endpointOrigin: string;
  signal?: AbortSignal;
  answerTimeoutMs: number;
  stallTimeoutMs: number;
  /** Set once any server has answered a request of this download (see isConnectFailure). */
  reached?: boolean;
}

export interface HttpResponse {
  res: http.IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
}

export function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function requestOnce(ctx: HttpSettings, url: URL, method: 'GET' | 'HEAD', extra: Record<string, string>): Promise<http.IncomingMessage> {
  const headers: Record<string, string> = {
    'User-Agent': `lockstep (node ${process.version})`,
    'Accept-Encoding': 'identity',
    ...extra,
  };
  // The token goes to the endpoint's own origin only: never to a CDN or any other host/port after a redirect.
  if (ctx.token && url.origin === ctx.endpointOrigin) headers.Authorization = `Bearer ${ctx.token}`;
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers, signal: ctx.signal }, (res) => {
      ctx.reached = true;
      clearTimeout(answerTimer);
      resolve(res);
    });
    const timeout = (ms: number) => () =>
      req.destroy(Object.assign(new Error(`no answer from ${url.host} for ${ms / 1000} s`), { code: 'ETIMEDOUT' }));
    // No response head within answerTimeoutMs (a dropped connection attempt, a stuck server), or a silent socket.
    const answerTimer = setTimeout(timeout(ctx.answerTimeoutMs), ctx.answerTimeoutMs);
    req.setTimeout(ctx.stallTimeoutMs, timeout(ctx.stallTimeoutMs));
    req.on('error', (e) => {
      clearTimeout(answerTimer);
      reject(e);
    });
    req.end();
  });
}

export const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * One request, following redirects (relative or absolute, any host). A HEAD stops at a redirect to another origin:
 * the Hub's redirect to its CDN carries the file's metadata (X-Linked-Etag, X-Linked-Size) itself.
 */
export async function request(ctx: HttpSettings, start: string, method: 'GET' | 'HEAD', extra: Record<string, string> = {}): Promise<HttpResponse> {
  let url = new URL(start);
  for (let i = 0; i <= 10; i++) {
    const res = await requestOnce(ctx, url, method, extra);
    const status = res.statusCode ?? 0;
    const location = header(res.headers, 'location');
    if (!REDIRECTS.has(status) || location === undefined) return { res, url };
    const next = new URL(location, url);
    if (method === 'HEAD' && next.origin !== url.origin) return { res, url };
    res.resume();
    url = next;
  }
  throw new DownloadError('http', `cannot download from ${start}: more than 10 redirects`);
}

export async function readSome(res: http.IncomingMessage, limit = 2048): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      chunks.push(c);
      n += c.length;
      if (n >= limit) break;
    }
  } catch {
    // the body is only for the message
  }
  res.destroy();
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

export function isHtmlType(h: http.IncomingHttpHeaders): boolean {
  return /^\s*text\/html\b/i.test(header(h, 'content-type') ?? '');
}

export function expectsHtml(file: string): boolean {
  return /\.x?html?$/i.test(file);
}

export function looksLikeHtml(head: Buffer): boolean {
  const s = head.subarray(0, 512).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return s.startsWith('<!doctype') || s.startsWith('<html');
}

export function parseContentRange(v: string | undefined): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((v ?? '').trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

// ---------------------------------------------------------------- retries

/** What the retry loop needs from the download's context. */
export interface RetryContext extends ProgressState {
  entry: { id: string };
  repo: string;
  endpoint: string;
  signal?: AbortSignal;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  reached?: boolean;
}

export async function withRetries<T>(ctx: RetryContext, file: string, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal?.aborted) throw cancelled(ctx.entry);
    try {
      return await fn(attempt);
    } catch (e) {
      if (ctx.signal?.aborted) throw e instanceof DownloadError && e.code === 'cancelled' ? e : cancelled(ctx.entry);
      const err = asDownloadError(e, ctx, file);
      if (!err.transient || attempt >= ctx.retries) {
        if (err.transient && ctx.retries > 0) {
          throw new DownloadError(err.code, `${err.message} (gave up after ${attempt + 1} attempts)`, { cause: err });
        }
        throw err;
      }
      const retryAfter = (err as DownloadError & { retryAfterMs?: number }).retryAfterMs;
      const delay = Math.min(ctx.retryMaxMs, retryAfter ?? ctx.retryBaseMs * 2 ** attempt);
      emit(ctx, { stage: 'retrying', file, message: `${err.message}; retrying in ${(delay / 1000).toFixed(1)} s (${attempt + 1}/${ctx.retries})` }, true);
      try {
        await sleep(delay, undefined, { signal: ctx.signal });
      } catch {
        throw cancelled(ctx.entry);
      }
    }
  }
}

const TRANSIENT_ERRNO = new Set(['ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'EPROTO', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

/**
 * A connection that could not be made at all: refused (nothing listens there) or no route to the host or network.
 * Before any server of this download has answered, that is a wrong endpoint or no network, and retrying with backoff
 * would only make the user wait (31 s at the defaults) for the same answer, so it fails at once. After one has
 * answered, it is a server restarting or a network blip mid-download, and is retried like any transient failure.
 */
const CONNECT_ERRNO = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

export function asDownloadError(e: unknown, ctx: { repo: string; endpoint: string; reached?: boolean }, file: string): DownloadError {
  if (e instanceof DownloadError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const msg = (e as Error).message ?? String(e);
  const where = `cannot download ${ctx.repo}/${file}`;
  if (CONNECT_ERRNO.has(code)) {
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    const host = err.address !== undefined ? `${err.address}${err.port === undefined ? '' : `:${err.port}`}` : new URL(ctx.endpoint).host;
    const what = code === 'ECONNREFUSED' ? `connection refused by ${host}` : `${host} is unreachable (${code})`;
    return new DownloadError('network', ctx.reached === true ? `${where}: ${what}`
      : `${where}: ${what}; check the endpoint (--endpoint, HF_ENDPOINT; now ${ctx.endpoint}) and the network, or set HF_HUB_OFFLINE=1 to use only the cache`,
    { transient: ctx.reached === true, cause: e });
  }
  if (code === 'ENOTFOUND') {
    return new DownloadError('network', `${where}: cannot resolve ${new URL(ctx.endpoint).host} (no network? set HF_HUB_OFFLINE=1 to use only the cache, or HF_ENDPOINT for a mirror)`, { cause: e });
  }
  if (TRANSIENT_ERRNO.has(code) || /socket hang up|aborted|premature/i.test(msg)) {
    return new DownloadError('network', `${where}: ${code || msg}`, { transient: true, cause: e });
  }
  if (code === 'ENOSPC' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EDQUOT') return diskError(e, where);
  if (code.startsWith('CERT_') || code.startsWith('ERR_TLS') || code.includes('CERT')) {
    return new DownloadError('network', `${where}: TLS certificate problem (${code}); behind a proxy that re-signs traffic, set NODE_EXTRA_CA_CERTS`, { cause: e });
  }
  return new DownloadError('network', `${where}: ${code ? `${code} ` : ''}${msg}`, { cause: e });
}
