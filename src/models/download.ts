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
 *
 * This file decides which files to fetch and in which order, pins the commit, and reports progress; the parts:
 *   hubProtocol.ts       the Hub's URLs and headers, the endpoint, offline mode
 *   downloadHttp.ts      requests, redirects, timeouts, where the token goes; retries with backoff
 *   downloadBlobs.ts     .incomplete → sha256 → blobs/<sha256> → snapshot link; the free-space check
 *   downloadLock.ts      lock files across processes
 *   downloadErrors.ts    DownloadError and its codes
 *   downloadProgress.ts  the onProgress details, and how often they are reported
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CatalogEntry, ModelFile, defaultVariantOf, downloadedDir, filesFor, isDownloadable, variantNames } from './catalog';
import { BlobContext, blobComplete, blobPath, checkSpace, linkSnapshot, markNoExist, transfer } from './downloadBlobs';
import { DownloadError, cancelled, diskError } from './downloadErrors';
import { RetryContext, withRetries } from './downloadHttp';
import { LockContext, acquireLock, lockFileFor } from './downloadLock';
import { DownloadProgress, emit } from './downloadProgress';
import {
  defaultModelsDir, isCommitHash, localPath, repoCacheDir, resolveCachedCommit, snapshotDir, snapshotFileComplete,
  snapshotFileSettled, writeRef,
} from './hubCache';
import { FileMeta, endpointFrom, headFile, isOfflineEnv, resolveUrl } from './hubProtocol';

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

interface Ctx extends BlobContext, RetryContext, LockContext {
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
  const lockFile = lockFileFor(ctx.cacheDir, ctx.repo, name);
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
