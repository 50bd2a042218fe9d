/**
 * The Hugging Face Hub's conventions, as a download meets them: the endpoint (HF_ENDPOINT) and offline mode
 * (HF_HUB_OFFLINE), the resolve URL `{endpoint}/{repo}/resolve/{revision}/{path}`, what a HEAD's headers say about a
 * file (X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag), and what the Hub's error answers mean (X-Error-Code,
 * 401/403/404, 408/429/5xx with Retry-After). The requests themselves are downloadHttp.ts's.
 */
import type { ModelFile } from './catalog';
import { DownloadError } from './downloadErrors';
import { HttpResponse, HttpSettings, REDIRECTS, expectsHtml, header, isHtmlType, readSome, request } from './downloadHttp';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

export function isOfflineEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return TRUE_WORDS.has((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

export function endpointFrom(options: { endpoint?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const raw = options.endpoint ?? (options.env ?? process.env).HF_ENDPOINT ?? DEFAULT_ENDPOINT;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new DownloadError('invalid', `the Hub endpoint "${raw}" is not a URL (HF_ENDPOINT or --endpoint, e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new DownloadError('invalid', `the Hub endpoint "${raw}" must be an http:// or https:// URL`);
  }
  return raw.replace(/\/+$/, '');
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
}

/** What the Hub's requests need from the download's context. */
export interface HubContext extends HttpSettings {
  repo: string;
  endpoint: string;
}

/** What the Hub says about one file (HEAD). */
export interface FileMeta {
  exists: boolean;
  commit?: string;
  sha256?: string;
  etag?: string;
  size?: number;
}

function normalizeEtag(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '').trim() || undefined;
}

/** An error for a non-success status (reads a little of the body for the Hub's message). */
export async function statusError(ctx: HubContext, r: HttpResponse, file: string, revision: string): Promise<DownloadError> {
  const status = r.res.statusCode ?? 0;
  const h = r.res.headers;
  const hubCode = header(h, 'x-error-code');
  let hubMsg = header(h, 'x-error-message');
  if (hubMsg === undefined) {
    const body = await readSome(r.res, 512);
    if (!/^\s*</.test(body)) {
      try {
        const j = JSON.parse(body) as { error?: unknown };
        if (typeof j.error === 'string') hubMsg = j.error;
      } catch {
        // not JSON
      }
    }
  } else {
    r.res.resume();
  }
  const extra = hubMsg ? ` — ${hubMsg.replace(/\s+/g, ' ').slice(0, 200)}` : '';
  const what = `${ctx.repo}/${file}`;
  const tokenSent = !!ctx.token && r.url.origin === ctx.endpointOrigin;
  if (status === 401) {
    return new DownloadError('unauthorized', tokenSent
      ? `cannot download ${what}: the Hub refused the token (HTTP 401)${extra}; check HF_TOKEN`
      : `cannot download ${what}: authentication required (HTTP 401)${extra}; the repository is private, gated or does not exist — set HF_TOKEN to a Hugging Face access token`);
  }
  if (status === 403) {
    return new DownloadError('forbidden', `cannot download ${what}: access denied (HTTP 403)${extra}; if the model is gated, accept its conditions on its Hub page with the account whose token is in HF_TOKEN`);
  }
  if (status === 404) {
    const why = hubCode === 'RepoNotFound' ? `repository ${ctx.repo} not found at ${ctx.endpoint}`
      : hubCode === 'RevisionNotFound' ? `revision ${revision} not found in ${ctx.repo}`
        : `${file} not found in ${ctx.repo} at ${revision}`;
    return new DownloadError('not-found', `cannot download ${what}: ${why} (HTTP 404)${extra}`);
  }
  const transient = status === 408 || status === 429 || status >= 500;
  const err = new DownloadError('http', `cannot download ${what}: HTTP ${status} from ${r.url.host}${extra}`, { transient });
  const ra = header(h, 'retry-after');
  if (transient && ra !== undefined) {
    const secs = Number(ra);
    const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(ra) - Date.now();
    if (Number.isFinite(ms) && ms >= 0) (err as DownloadError & { retryAfterMs?: number }).retryAfterMs = ms;
  }
  return err;
}

export async function headFile(ctx: HubContext, revision: string, file: ModelFile): Promise<FileMeta> {
  const r = await request(ctx, resolveUrl(ctx.endpoint, ctx.repo, revision, file.path), 'HEAD');
  const status = r.res.statusCode ?? 0;
  const h = r.res.headers;
  if (status === 404 && file.optional) {
    r.res.resume();
    return { exists: false, commit: header(h, 'x-repo-commit') };
  }
  if (!(status >= 200 && status < 300) && !REDIRECTS.has(status)) throw await statusError(ctx, r, file.path, revision);
  r.res.resume();
  if (status === 200 && isHtmlType(h) && !expectsHtml(file.path)) {
    throw new DownloadError('html', `cannot download ${ctx.repo}/${file.path}: ${r.url.host} answers with an HTML page, not the file (a proxy or captive portal? check HF_ENDPOINT)`);
  }
  const sha = normalizeEtag(header(h, 'x-linked-etag'));
  const sizeHeader = header(h, 'x-linked-size') ?? (status === 200 ? header(h, 'content-length') : undefined);
  const size = sizeHeader !== undefined && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
  return {
    exists: true,
    commit: header(h, 'x-repo-commit'),
    sha256: sha !== undefined && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined,
    etag: normalizeEtag(header(h, 'etag')),
    size,
  };
}
