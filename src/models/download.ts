/**
 * Downloads catalog models from the Hugging Face Hub (or a mirror) into the Hugging Face cache layout
 * (see hubCache.ts), for the CLI (`lockstep download`) and the VS Code extension. No `vscode` import.
 *
 * API
 *   downloadModel(entry, options?) → Promise<string>
 *       Makes every file of one variant of a downloadable catalog entry whole in the cache and resolves to the
 *       snapshot directory (load it with the engine's `variant` option set to the same variant). A model already
 *       complete in the cache is returned without any request.
 *   downloadModelDetailed(entry, options?) → Promise<DownloadResult>
 *       The same, with the commit, the variant and each file's size and sha256 (as the Hub reported and the body
 *       proved), and whether it was transferred.
 *   isDownloaded(entry, variant?, cacheDir?) → boolean          no network; `downloadedDir` gives the directory
 *   DownloadError                                               `code` says what went wrong (see DownloadErrorCode);
 *                                                               the message is one line a user can act on
 *   options: {
 *     variant?      'q4f16', 'fp32' … (default: the entry's defaultVariant)
 *     endpoint?     Hub URL (default: HF_ENDPOINT, else https://huggingface.co)
 *     cacheDir?     models directory in the HF cache layout (default: LOCKSTEP_MODELS_DIR, HF_HUB_CACHE,
 *                   $HF_HOME/hub, ~/.cache/huggingface/hub)
 *     token?        Hugging Face access token (default: HF_TOKEN), sent as `Authorization: Bearer` to the
 *                   endpoint's origin only — never across a redirect to another host or port (the CDN)
 *     offline?      no network: use the cache or fail (default: HF_HUB_OFFLINE=1/true/yes/on)
 *     signal?       AbortSignal: cancels; the partial file stays for a later resume (VS Code: a
 *                   CancellationToken's onCancellationRequested → AbortController.abort())
 *     onProgress?   (bytes, total, detail) — bytes done and the total to fetch (undefined until known), at most
 *                   every 100 ms and at each change of stage/file (detail.stage, detail.file …)
 *   }
 *
 * How a file is fetched (`{endpoint}/{repo}/resolve/{commit}/{path}`):
 *   - HEAD first (Accept-Encoding: identity): X-Repo-Commit pins a branch revision ("main") to a commit on first
 *     download (written to refs/main; later downloads use that commit); X-Linked-Etag (sha256) and
 *     X-Linked-Size (or Content-Length) are the expected hash and size unless the catalog pins them, and must agree
 *     with the catalog when it does. An optional file that answers 404 gets a .no_exist marker.
 *   - GET, following redirects (relative or absolute, to another host/port, at most 10), streamed into
 *     blobs/<sha256>.incomplete; an existing .incomplete is resumed with `Range: bytes=<n>-` (a 200 answer to a
 *     Range request restarts from 0). HTML answers (Content-Type text/html, or a body starting with <!DOCTYPE or
 *     <html) and size mismatches are refused. The sha256 is checked before the atomic rename to blobs/<sha256>;
 *     .json files must parse. Then snapshots/<commit>/<path> becomes a relative symlink to the blob (a hard link or
 *     a copy where symlinks fail).
 *   - Transient failures (connection reset or cut, stalled for `stallTimeoutMs`, HTTP 408/429/5xx) are retried with
 *     exponential backoff (`retries` times, honouring Retry-After), resuming where the data stopped.
 *   - A lock file .locks/models--org--name/<blob>.lockstep.lock (pid, host, time; refreshed while held; stale when
 *     its process is gone or it is older than `lockStaleMs`) keeps two processes or windows from fetching the same
 *     file: the second waits, then finds the file whole.
 *   - A failed or cancelled download never leaves a file at a final path; the .incomplete stays for a resume
 *     (except after a hash mismatch: those bytes are wrong, and are deleted).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CatalogEntry, ModelFile, defaultVariantOf, downloadedDir, filesFor, isDownloadable, variantNames } from './catalog';
import {
  defaultModelsDir, isCommitHash, localPath, noExistMarker, repoCacheDir, repoFolderName, resolveCachedCommit,
  snapshotDir, snapshotFileComplete, snapshotFileSettled, writeRef,
} from './hubCache';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export type DownloadErrorCode =
  | 'offline' // HF_HUB_OFFLINE (or offline: true) and the model is not complete in the cache
  | 'cancelled' // the AbortSignal fired
  | 'invalid' // the entry cannot be downloaded (bundled, no repo, unknown variant, bad endpoint)
  | 'unauthorized' // HTTP 401: private/gated repository or bad token
  | 'forbidden' // HTTP 403: gated model whose conditions are not accepted
  | 'not-found' // HTTP 404: repository, revision or file
  | 'html' // an HTML page where a model file was expected
  | 'size-mismatch' // the body's size differs from what the catalog or the Hub says
  | 'hash-mismatch' // the body's sha256 differs from the catalog's or the Hub's
  | 'catalog-mismatch' // the Hub reports another sha256/size/commit than the catalog pins
  | 'bad-content' // a .json file that does not parse
  | 'http' // another HTTP status, or a bad response
  | 'network' // connection failures that outlasted the retries
  | 'disk'; // file-system errors (no space, permissions)

export class DownloadError extends Error {
  /** Worth retrying (the downloader already did, `retries` times). */
  readonly transient: boolean;
  constructor(readonly code: DownloadErrorCode, message: string, opts: { transient?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DownloadError';
    this.transient = opts.transient ?? false;
  }
}

export type DownloadStage = 'checking' | 'waiting' | 'downloading' | 'verifying' | 'retrying' | 'done';

export interface DownloadProgress {
  stage: DownloadStage;
  /** Repository path of the current file. */
  file?: string;
  /** Bytes of the current file on disk so far, and its size when known. */
  fileBytes?: number;
  fileTotal?: number;
  /** 1-based index of the current file among those fetched, and how many are fetched. */
  fileIndex?: number;
  fileCount?: number;
  /** A human-readable line for 'waiting' and 'retrying'. */
  message?: string;
}

export interface DownloadOptions {
  variant?: string;
  endpoint?: string;
  cacheDir?: string;
  token?: string;
  offline?: boolean;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number | undefined, detail: DownloadProgress) => void;
  /** Environment for HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE and the cache location (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Retries of a transient failure per file (default 5). */
  retries?: number;
  /** First backoff delay, doubled each retry (default 1000 ms), capped at retryMaxMs (default 30 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** A response that sends nothing for this long is dropped and retried (default 60 s). */
  stallTimeoutMs?: number;
  /** A request whose response head has not come after this long is dropped and retried (default 30 s). */
  answerTimeoutMs?: number;
  /** A lock older than this (not refreshed by its holder) is taken over (default 120 s). */
  lockStaleMs?: number;
  /** How often a waiting download looks at the lock (default 250 ms). */
  lockPollMs?: number;
  /** 'auto': symlinks, else hard links, else copies (default); 'copy': always copy into the snapshot. */
  linkMode?: 'auto' | 'copy';
}

export interface DownloadedFile {
  path: string;
  /** null for an optional file that does not exist in the repository. */
  size: number | null;
  sha256: string | null;
  /** Bytes were transferred for it now (false: it was already in the cache). */
  transferred: boolean;
}

export interface DownloadResult {
  dir: string;
  repo: string;
  commit: string;
  variant?: string;
  files: DownloadedFile[];
}

/** True when every file of the variant is whole in the cache (no network). */
export function isDownloaded(entry: CatalogEntry, variant?: string, cacheDir?: string): boolean {
  return downloadedDir(entry, variant, cacheDir ?? defaultModelsDir()) !== undefined;
}

export { downloadedDir };

/** Downloads one variant of a catalog entry; resolves to its snapshot directory. See the module comment. */
export async function downloadModel(entry: CatalogEntry, options: DownloadOptions = {}): Promise<string> {
  return (await downloadModelDetailed(entry, options)).dir;
}

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

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** What the Hub says about one file (HEAD). */
interface FileMeta {
  exists: boolean;
  commit?: string;
  sha256?: string;
  etag?: string;
  size?: number;
}

interface Ctx {
  entry: CatalogEntry;
  repo: string;
  repoDir: string;
  cacheDir: string;
  endpoint: string;
  endpointOrigin: string;
  token?: string;
  signal?: AbortSignal;
  opts: DownloadOptions;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  stallTimeoutMs: number;
  answerTimeoutMs: number;
  lockStaleMs: number;
  lockPollMs: number;
  /** Progress accounting. */
  done: number;
  total: number | undefined;
  lastEmit: number;
  fileIndex: number;
  fileCount: number;
}

export async function downloadModelDetailed(entry: CatalogEntry, options: DownloadOptions = {}): Promise<DownloadResult> {
  const env = options.env ?? process.env;
  if (!isDownloadable(entry) || entry.repo === undefined || entry.commit === undefined) {
    throw new DownloadError('invalid', entry.bundled !== undefined
      ? `model '${entry.id}' ships with Lockstep (${entry.bundled}); there is nothing to download`
      : `model '${entry.id}' has no Hugging Face repository and commit in the catalog; it cannot be downloaded`);
  }
  const variant = options.variant ?? defaultVariantOf(entry);
  if (variant !== undefined && entry.variants !== undefined && !(variant in entry.variants)) {
    throw new DownloadError('invalid', `model '${entry.id}' has no variant "${variant}" (variants: ${variantNames(entry).join(', ')})`);
  }
  if (variant !== undefined && entry.variants === undefined && options.variant !== undefined) {
    throw new DownloadError('invalid', `model '${entry.id}' has no variants; download it without --variant`);
  }
  const files = filesFor(entry, entry.variants === undefined ? undefined : variant);
  const cacheDir = path.resolve(options.cacheDir ?? defaultModelsDir(env));
  const repo = entry.repo;
  const repoDir = repoCacheDir(cacheDir, repo);
  const variantLabel = variant === undefined ? '' : ` (variant ${variant})`;

  // Already complete: no request at all.
  let commit = resolveCachedCommit(repoDir, entry.commit);
  if (commit !== undefined && files.every((f) => snapshotFileSettled(repoDir, commit!, f))) {
    options.onProgress?.(0, 0, { stage: 'done' });
    return resultFor(repoDir, repo, commit, variant, files, new Set());
  }
  const offline = options.offline ?? isOfflineEnv(env);
  if (offline) {
    const missing = commit === undefined ? files.filter((f) => !f.optional) : files.filter((f) => !snapshotFileSettled(repoDir, commit!, f));
    throw new DownloadError('offline',
      `model '${entry.id}'${variantLabel} is not complete in ${cacheDir} (missing: ${missing.map((f) => f.path).join(', ') || 'the commit of ' + entry.commit}) ` +
      'and HF_HUB_OFFLINE is set, so nothing is downloaded: unset HF_HUB_OFFLINE to download it');
  }
  if (options.signal?.aborted) throw cancelled(entry);
  const endpoint = endpointFrom({ endpoint: options.endpoint, env });
  const token = options.token ?? (env.HF_TOKEN || undefined);
  const ctx: Ctx = {
    entry, repo, repoDir, cacheDir, endpoint, endpointOrigin: new URL(endpoint).origin, token, signal: options.signal, opts: options,
    retries: options.retries ?? 5, retryBaseMs: options.retryBaseMs ?? 1000, retryMaxMs: options.retryMaxMs ?? 30_000,
    stallTimeoutMs: options.stallTimeoutMs ?? 60_000, answerTimeoutMs: options.answerTimeoutMs ?? 30_000, lockStaleMs: options.lockStaleMs ?? 120_000, lockPollMs: options.lockPollMs ?? 250,
    done: 0, total: undefined, lastEmit: 0, fileIndex: 0, fileCount: 0,
  };

  // 1. Metadata (HEAD) for every file not yet whole; the first answer pins a branch revision to its commit.
  emit(ctx, { stage: 'checking' }, true);
  const todo: { file: ModelFile; meta: FileMeta }[] = [];
  // Required files first: a 404 of an optional one may not say which commit "main" is.
  for (const file of [...files.filter((f) => !f.optional), ...files.filter((f) => f.optional)]) {
    if (commit !== undefined && snapshotFileSettled(ctx.repoDir, commit, file)) continue;
    const meta = await withRetries(ctx, file.path, () => headFile(ctx, commit ?? entry.commit!, file));
    if (commit === undefined) {
      if (meta.commit === undefined || !isCommitHash(meta.commit)) {
        if (!isCommitHash(entry.commit)) {
          throw new DownloadError('http', `cannot download ${repo}: ${endpoint} did not say which commit "${entry.commit}" is (no X-Repo-Commit header) — is it a Hugging Face Hub endpoint?`);
        }
        commit = entry.commit;
      } else {
        commit = meta.commit;
      }
      if (isCommitHash(entry.commit) && commit !== entry.commit) {
        throw new DownloadError('catalog-mismatch', `cannot download ${repo}: asked for commit ${entry.commit}, the Hub answered for ${commit}`);
      }
      try {
        writeRef(repoDir, entry.commit, commit);
      } catch (e) {
        throw diskError(e, `cannot write refs/${entry.commit} in ${repoDir}`);
      }
      if (snapshotFileSettled(ctx.repoDir, commit, file)) continue;
    }
    if (!meta.exists) {
      // Only optional files get here (a required one throws not-found).
      markNoExist(repoDir, commit, file.path);
      continue;
    }
    if (file.sha256 !== null && meta.sha256 !== undefined && meta.sha256 !== file.sha256) {
      throw new DownloadError('catalog-mismatch', `cannot download ${repo}/${file.path}: the Hub reports sha256 ${meta.sha256}, the catalog pins ${file.sha256} (commit ${commit})`);
    }
    if (file.size !== null && meta.size !== undefined && meta.size !== file.size) {
      throw new DownloadError('catalog-mismatch', `cannot download ${repo}/${file.path}: the Hub reports ${meta.size} bytes, the catalog says ${file.size} (commit ${commit})`);
    }
    todo.push({ file, meta });
  }
  if (commit === undefined) throw new DownloadError('http', `cannot download ${repo}: no file answered`); // no files at all
  todo.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file)); // transfers in catalog order

  // 2. Space check (best effort), progress totals.
  const sizes = todo.map(({ file, meta }) => file.size ?? meta.size);
  ctx.total = sizes.every((s) => s !== undefined) ? sizes.reduce<number>((a, s) => a + (s ?? 0), 0) : undefined;
  ctx.fileCount = todo.length;
  checkSpace(cacheDir, todo.map(({ file, meta }, i) => ({ size: sizes[i] ?? 0, sha: file.sha256 ?? meta.sha256 })), repoDir);

  // 3. Transfers, one file at a time.
  const transferred = new Set<string>();
  for (const { file, meta } of todo) {
    ctx.fileIndex++;
    const did = await ensureFile(ctx, commit, file, meta);
    if (did) transferred.add(file.path);
  }
  const missing = files.filter((f) => !snapshotFileSettled(repoDir, commit!, f));
  if (missing.length > 0) {
    throw new DownloadError('disk', `model '${entry.id}': ${missing.map((f) => f.path).join(', ')} still missing from ${snapshotDir(repoDir, commit)} after the download`);
  }
  emit(ctx, { stage: 'done' }, true);
  return resultFor(repoDir, repo, commit, variant, files, transferred);
}

function resultFor(repoDir: string, repo: string, commit: string, variant: string | undefined, files: ModelFile[], transferred: Set<string>): DownloadResult {
  const dir = snapshotDir(repoDir, commit);
  return {
    dir, repo, commit, variant,
    files: files.map((f) => {
      const p = localPath(dir, f.path);
      let size: number | null = null;
      let sha: string | null = f.sha256;
      try {
        size = fs.statSync(p).size;
        const target = fs.lstatSync(p).isSymbolicLink() ? path.basename(fs.readlinkSync(p)) : undefined;
        if (sha === null && target !== undefined && /^[0-9a-f]{64}$/.test(target)) sha = target;
      } catch {
        sha = null; // optional and absent
      }
      return { path: f.path, size, sha256: sha, transferred: transferred.has(f.path) };
    }),
  };
}

function cancelled(entry: CatalogEntry, detail = ''): DownloadError {
  return new DownloadError('cancelled', `download of '${entry.id}' cancelled${detail}`);
}

function emit(ctx: Ctx, detail: DownloadProgress, force = false): void {
  const cb = ctx.opts.onProgress;
  if (!cb) return;
  const now = Date.now();
  if (!force && now - ctx.lastEmit < 100) return;
  ctx.lastEmit = now;
  cb(ctx.done, ctx.total, { fileIndex: ctx.fileIndex || undefined, fileCount: ctx.fileCount || undefined, ...detail });
}

function markNoExist(repoDir: string, commit: string, file: string): void {
  const marker = noExistMarker(repoDir, commit, file);
  try {
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, '');
  } catch (e) {
    throw diskError(e, `cannot write ${marker}`);
  }
}

function diskError(e: unknown, what: string): DownloadError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
  return new DownloadError('disk', `${what}: ${why}`, { cause: e });
}

function checkSpace(cacheDir: string, items: { size: number; sha?: string }[], repoDir: string): void {
  let need = 0;
  for (const it of items) {
    if (it.sha !== undefined && fs.existsSync(path.join(repoDir, 'blobs', it.sha))) continue;
    let have = 0;
    if (it.sha !== undefined) {
      try {
        have = fs.statSync(path.join(repoDir, 'blobs', `${it.sha}.incomplete`)).size;
      } catch {
        have = 0;
      }
    }
    need += Math.max(0, it.size - have);
  }
  let dir = cacheDir;
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    const st = fs.statfsSync(dir);
    const free = Number(st.bavail) * Number(st.bsize);
    if (Number.isFinite(free) && free > 0 && need > free) {
      throw new DownloadError('disk', `not enough disk space in ${cacheDir}: the download needs ${formatBytes(need)}, ${formatBytes(free)} are free`);
    }
  } catch (e) {
    if (e instanceof DownloadError) throw e;
    // statfs unavailable: go on, ENOSPC will tell
  }
}

// ---------------------------------------------------------------- retries

async function withRetries<T>(ctx: Ctx, file: string, fn: (attempt: number) => Promise<T>): Promise<T> {
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

const TRANSIENT_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EPROTO', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

function asDownloadError(e: unknown, ctx: Ctx, file: string): DownloadError {
  if (e instanceof DownloadError) return e;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const msg = (e as Error).message ?? String(e);
  const where = `cannot download ${ctx.repo}/${file}`;
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

// ---------------------------------------------------------------- HTTP

interface Response {
  res: http.IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
}

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function normalizeEtag(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '').trim() || undefined;
}

function requestOnce(ctx: Ctx, url: URL, method: 'GET' | 'HEAD', extra: Record<string, string>): Promise<http.IncomingMessage> {
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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * One request, following redirects (relative or absolute, any host). A HEAD stops at a redirect to another origin:
 * the Hub's redirect to its CDN carries the file's metadata (X-Linked-Etag, X-Linked-Size) itself.
 */
async function request(ctx: Ctx, start: string, method: 'GET' | 'HEAD', extra: Record<string, string> = {}): Promise<Response> {
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

async function readSome(res: http.IncomingMessage, limit = 2048): Promise<string> {
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

/** An error for a non-success status (reads a little of the body for the Hub's message). */
async function statusError(ctx: Ctx, r: Response, file: string, revision: string): Promise<DownloadError> {
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

function isHtmlType(h: http.IncomingHttpHeaders): boolean {
  return /^\s*text\/html\b/i.test(header(h, 'content-type') ?? '');
}

function expectsHtml(file: string): boolean {
  return /\.x?html?$/i.test(file);
}

async function headFile(ctx: Ctx, revision: string, file: ModelFile): Promise<FileMeta> {
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

// ---------------------------------------------------------------- one file

function blobPath(ctx: Ctx, name: string): string {
  return path.join(ctx.repoDir, 'blobs', name);
}

/** Makes one file whole in the snapshot; true when bytes were transferred. */
async function ensureFile(ctx: Ctx, commit: string, file: ModelFile, meta: FileMeta): Promise<boolean> {
  const expected = { sha256: file.sha256 ?? meta.sha256 ?? null, size: file.size ?? meta.size ?? null };
  const spec = { ...file, size: expected.size };
  if (snapshotFileComplete(ctx.repoDir, commit, spec)) return false;
  if (expected.sha256 !== null && blobComplete(ctx, expected.sha256, expected.size)) {
    linkSnapshot(ctx, commit, file.path, expected.sha256);
    return false;
  }
  // The name the partial and the lock go by: the sha256 when known (shared with other tools), else the git etag.
  const safeEtag = meta.etag !== undefined && /^[A-Za-z0-9._-]{8,128}$/.test(meta.etag) ? meta.etag : undefined;
  const name = expected.sha256 ?? safeEtag ?? crypto.createHash('sha1').update(`${commit}/${file.path}`).digest('hex');
  const lockFile = path.join(ctx.cacheDir, '.locks', repoFolderName(ctx.repo), `${name}.lockstep.lock`);
  const release = await acquireLock(ctx, lockFile, file.path);
  try {
    // Another process may have finished it while we waited.
    if (snapshotFileComplete(ctx.repoDir, commit, spec)) return false;
    if (expected.sha256 !== null && blobComplete(ctx, expected.sha256, expected.size)) {
      linkSnapshot(ctx, commit, file.path, expected.sha256);
      return false;
    }
    fs.mkdirSync(path.join(ctx.repoDir, 'blobs'), { recursive: true });
    const incomplete = blobPath(ctx, `${name}.incomplete`);
    const url = resolveUrl(ctx.endpoint, ctx.repo, commit, file.path);
    const startDone = ctx.done;
    let restarted = false;
    const sha = await withRetries(ctx, file.path, async () => {
      ctx.done = startDone;
      try {
        return await transfer(ctx, url, incomplete, file.path, expected);
      } catch (e) {
        if (e instanceof DownloadError && e.code === 'hash-mismatch' && (e as DownloadError & { resumed?: boolean }).resumed && !restarted) {
          // The kept partial may have been bad: one fresh try from byte 0 (transfer deleted it).
          restarted = true;
          throw new DownloadError('hash-mismatch', e.message, { transient: true });
        }
        throw e;
      }
    });
    linkSnapshot(ctx, commit, file.path, sha);
    return true;
  } finally {
    release();
  }
}

function blobComplete(ctx: Ctx, sha: string, size: number | null): boolean {
  try {
    const st = fs.statSync(blobPath(ctx, sha));
    return st.isFile() && (size === null || st.size === size);
  } catch {
    return false;
  }
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

async function hashFile(p: string, hash: crypto.Hash, signal?: AbortSignal, length?: number): Promise<void> {
  const stream = fs.createReadStream(p, { signal, ...(length !== undefined && length > 0 ? { start: 0, end: length - 1 } : {}) });
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
}

function parseContentRange(v: string | undefined): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((v ?? '').trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/**
 * One GET of a file into `incomplete` (resuming it), checked and renamed to blobs/<sha256>. Returns the sha256.
 * Throws transient errors for cut or stalled transfers (the bytes so far stay), and final ones otherwise.
 */
async function transfer(
  ctx: Ctx, url: string, incomplete: string, file: string, expected: { sha256: string | null; size: number | null },
): Promise<string> {
  const where = `cannot download ${ctx.repo}/${file}`;
  let offset = fileSize(incomplete);
  if (expected.size !== null && offset > expected.size) {
    fs.truncateSync(incomplete, 0);
    offset = 0;
  }
  if (expected.size !== null && offset === expected.size && offset > 0) {
    // A previous run got every byte but stopped before the rename.
    emit(ctx, { stage: 'verifying', file, fileBytes: offset, fileTotal: expected.size }, true);
    const hash = crypto.createHash('sha256');
    await hashFile(incomplete, hash, ctx.signal);
    const digest = hash.digest('hex');
    if (expected.sha256 === null || digest === expected.sha256) return finish(ctx, incomplete, file, digest);
    fs.truncateSync(incomplete, 0);
    offset = 0;
  }
  // The sha256 covers the kept bytes too: hash them before asking for the rest (not while a response waits).
  let hash = crypto.createHash('sha256');
  if (offset > 0) await hashFile(incomplete, hash, ctx.signal, offset);
  ctx.done += offset;
  emit(ctx, { stage: 'downloading', file, fileBytes: offset, fileTotal: expected.size ?? undefined }, true);
  const r = await request(ctx, url, 'GET', offset > 0 ? { Range: `bytes=${offset}-` } : {});
  const res = r.res;
  const status = res.statusCode ?? 0;
  const h = res.headers;
  let total: number | undefined;
  if (status === 206 && offset > 0) {
    const cr = parseContentRange(header(h, 'content-range'));
    if (!cr || cr.start !== offset) {
      res.destroy();
      fs.truncateSync(incomplete, 0);
      throw new DownloadError('http', `${where}: the server answered the range request from byte ${offset} with "${header(h, 'content-range') ?? 'no Content-Range'}"; starting again`, { transient: true });
    }
    total = cr.total;
  } else if (status === 200) {
    if (offset > 0) {
      // The server ignored the Range header: start from 0.
      ctx.done -= offset;
      offset = 0;
      hash = crypto.createHash('sha256');
    }
    const cl = header(h, 'content-length');
    total = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
  } else if (status === 416 && offset > 0) {
    res.resume();
    fs.truncateSync(incomplete, 0);
    throw new DownloadError('http', `${where}: the server refused to resume at byte ${offset} (HTTP 416); starting again`, { transient: true });
  } else {
    throw await statusError(ctx, r, file, url.split('/resolve/')[1]?.split('/')[0] ?? '');
  }
  if (isHtmlType(h) && !expectsHtml(file)) {
    const body = await readSome(res, 300);
    const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1]?.trim();
    throw new DownloadError('html', `${where}: ${r.url.host} sent an HTML page instead of the file${title ? ` ("${title}")` : ''} — refused (a proxy, captive portal or wrong HF_ENDPOINT?)`);
  }
  if (total !== undefined && expected.size !== null && total !== expected.size) {
    res.destroy();
    throw new DownloadError('size-mismatch', `${where}: the server sends ${total} bytes, expected ${expected.size} — refused`);
  }
  const size = expected.size ?? total ?? null;

  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(incomplete, offset > 0 ? 'a' : 'w');
  } catch (e) {
    res.destroy();
    throw diskError(e, `cannot write ${incomplete}`);
  }
  let written = offset;
  let stalled = false;
  const onStall = () => {
    stalled = true;
    res.destroy(Object.assign(new Error(`no data for ${ctx.stallTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
  };
  res.setTimeout(ctx.stallTimeoutMs, onStall);
  let sniffed = offset > 0 || expectsHtml(file);
  let head = Buffer.alloc(0);
  try {
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        if (!sniffed) {
          head = Buffer.concat([head, chunk]);
          if (head.length >= 64) {
            sniffed = true;
            if (looksLikeHtml(head)) {
              res.destroy();
              throw new DownloadError('html', `${where}: ${r.url.host} sent an HTML page instead of the file — refused (a proxy, captive portal or wrong HF_ENDPOINT?)`);
            }
          }
        }
        if (size !== null && written + chunk.length > size) {
          res.destroy();
          throw new DownloadError('size-mismatch', `${where}: the server sent more than the expected ${size} bytes — refused`);
        }
        hash.update(chunk);
        try {
          await fh.write(chunk);
        } catch (e) {
          res.destroy();
          throw diskError(e, `cannot write ${incomplete}`);
        }
        written += chunk.length;
        ctx.done += chunk.length;
        emit(ctx, { stage: 'downloading', file, fileBytes: written, fileTotal: size ?? undefined });
      }
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      if (ctx.signal?.aborted) throw cancelled(ctx.entry, `; ${written} bytes kept in ${incomplete} for a later resume`);
      if (stalled) throw new DownloadError('network', `${where}: the transfer stalled at byte ${written}`, { transient: true });
      throw asDownloadError(e, ctx, file);
    }
    if (ctx.signal?.aborted) throw cancelled(ctx.entry, `; ${written} bytes kept in ${incomplete} for a later resume`);
    if (!res.complete && size === null) {
      throw new DownloadError('network', `${where}: the connection closed before the end (${written} bytes)`, { transient: true });
    }
    if (!sniffed && looksLikeHtml(head)) {
      throw new DownloadError('html', `${where}: ${r.url.host} sent an HTML page instead of the file — refused`);
    }
    if (size !== null && written < size) {
      throw new DownloadError('network', `${where}: the connection closed at byte ${written} of ${size}`, { transient: true });
    }
    await fh.sync().catch(() => undefined);
  } finally {
    await fh.close().catch(() => undefined);
  }
  emit(ctx, { stage: 'verifying', file, fileBytes: written, fileTotal: size ?? undefined }, true);
  const digest = hash.digest('hex');
  if (expected.sha256 !== null && digest !== expected.sha256) {
    fs.rmSync(incomplete, { force: true });
    const err = new DownloadError('hash-mismatch', `${where}: sha256 mismatch — got ${digest}, expected ${expected.sha256}; the bytes were discarded`);
    (err as DownloadError & { resumed?: boolean }).resumed = offset > 0;
    throw err;
  }
  return finish(ctx, incomplete, file, digest);
}

function looksLikeHtml(head: Buffer): boolean {
  const s = head.subarray(0, 512).toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return s.startsWith('<!doctype') || s.startsWith('<html');
}

/** Final checks on a whole .incomplete, then the atomic rename to blobs/<sha256>. */
function finish(ctx: Ctx, incomplete: string, file: string, sha: string): string {
  if (/\.json$/i.test(file)) {
    try {
      JSON.parse(fs.readFileSync(incomplete, 'utf8'));
    } catch (e) {
      fs.rmSync(incomplete, { force: true });
      throw new DownloadError('bad-content', `cannot download ${ctx.repo}/${file}: the file received is not valid JSON (${(e as Error).message}) — refused`);
    }
  }
  try {
    fs.renameSync(incomplete, blobPath(ctx, sha));
  } catch (e) {
    throw diskError(e, `cannot move ${incomplete} into place`);
  }
  return sha;
}

/** snapshots/<commit>/<path> → ../../blobs/<sha> (relative symlink; else a hard link; else a copy), atomically. */
function linkSnapshot(ctx: Ctx, commit: string, file: string, sha: string): void {
  const link = localPath(snapshotDir(ctx.repoDir, commit), file);
  const blob = blobPath(ctx, sha);
  try {
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const tmp = `${link}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    let made = false;
    if (ctx.opts.linkMode !== 'copy') {
      try {
        fs.symlinkSync(path.relative(path.dirname(link), blob), tmp);
        made = true;
      } catch {
        try {
          fs.linkSync(blob, tmp);
          made = true;
        } catch {
          made = false;
        }
      }
    }
    if (!made) fs.copyFileSync(blob, tmp);
    fs.renameSync(tmp, link);
  } catch (e) {
    throw diskError(e, `cannot create ${link}`);
  }
}

// ---------------------------------------------------------------- locks

interface LockInfo {
  pid: number;
  host: string;
  since: number;
  token: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { info?: LockInfo; mtimeMs: number } | undefined {
  try {
    const st = fs.statSync(file);
    let info: LockInfo | undefined;
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      if (typeof v.pid === 'number' && typeof v.host === 'string') info = v;
    } catch {
      info = undefined;
    }
    return { info, mtimeMs: st.mtimeMs };
  } catch {
    return undefined; // gone
  }
}

/**
 * Takes the lock file (exclusive create). A lock whose process is gone (same host) or that has not been refreshed
 * for lockStaleMs is removed; any other lock is waited for. Returns the release function.
 */
async function acquireLock(ctx: Ctx, file: string, label: string): Promise<() => void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockInfo = { pid: process.pid, host: os.hostname(), since: Date.now(), token: crypto.randomBytes(8).toString('hex') };
  let told = false;
  for (;;) {
    if (ctx.signal?.aborted) throw cancelled(ctx.entry);
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, JSON.stringify(me));
      } finally {
        fs.closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw diskError(e, `cannot create the lock ${file}`);
    }
    const seen = readLock(file);
    if (seen === undefined) continue;
    const age = Date.now() - seen.mtimeMs;
    const dead = seen.info !== undefined && seen.info.host === me.host && !pidAlive(seen.info.pid);
    const unreadable = seen.info === undefined && age > 10_000;
    if (dead || unreadable || age > ctx.lockStaleMs) {
      // Remove it only if it is still the one we judged stale.
      const again = readLock(file);
      if (again && again.mtimeMs === seen.mtimeMs && again.info?.token === seen.info?.token) fs.rmSync(file, { force: true });
      continue;
    }
    if (!told) {
      told = true;
      const who = seen.info ? `process ${seen.info.pid}${seen.info.host !== me.host ? ` on ${seen.info.host}` : ''}` : 'another process';
      emit(ctx, { stage: 'waiting', file: label, message: `waiting for ${who}, which is downloading ${label}` }, true);
    }
    try {
      await sleep(ctx.lockPollMs, undefined, { signal: ctx.signal });
    } catch {
      throw cancelled(ctx.entry);
    }
  }
  // Refresh the lock while held, so a long download does not look stale.
  const beat = setInterval(() => {
    try {
      const now = new Date();
      fs.utimesSync(file, now, now);
    } catch {
      // lost: nothing to do
    }
  }, Math.max(50, Math.floor(ctx.lockStaleMs / 4)));
  beat.unref();
  return () => {
    clearInterval(beat);
    const cur = readLock(file);
    if (cur?.info?.token === me.token) fs.rmSync(file, { force: true });
  };
}
