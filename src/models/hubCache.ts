/**
 * The Hugging Face hub cache layout, shared with the Python tools (huggingface_hub, transformers) so that a model
 * fetched by any of them is found by the others:
 *
 *   <cache>/models--<org>--<name>/blobs/<sha256>                  file contents, named by their sha256
 *   <cache>/models--<org>--<name>/blobs/<name>.incomplete         a transfer in progress (resumable)
 *   <cache>/models--<org>--<name>/snapshots/<commit>/<path>       relative symlinks into blobs (copies where
 *                                                                 symlinks are unavailable)
 *   <cache>/models--<org>--<name>/refs/<revision>                 the commit a branch name ("main") resolved to
 *   <cache>/models--<org>--<name>/.no_exist/<commit>/<path>       empty marker: this file does not exist there
 *   <cache>/.locks/models--<org>--<name>/<name>.lockstep.lock     Lockstep's download lock (pid, host, time)
 *
 * The cache root is `LOCKSTEP_MODELS_DIR`, else `HF_HUB_CACHE` (or the older `HUGGINGFACE_HUB_CACHE`), else
 * `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub` — the same defaults as
 * huggingface_hub. A user-chosen models directory (the `modelsDir` setting, `--models-dir`) uses the same layout.
 *
 * Python's huggingface_hub names a small (non-LFS) file's blob by its git blob sha1 rather than its sha256; that
 * does not matter here: a snapshot path that exists is complete (every tool writes it only after the file is
 * whole), so snapshots written by other tools are reused as they are.
 *
 * Nothing here touches the network.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A file a model needs, as far as the cache is concerned. */
export interface CacheFileSpec {
  /** POSIX path inside the repository, e.g. "onnx/model_q4f16.onnx". */
  path: string;
  /** Expected size in bytes (null/undefined: not known in advance). */
  size?: number | null;
  /** The file may not exist in the repository; a `.no_exist` marker records that it does not. */
  optional?: boolean;
}

const COMMIT = /^[0-9a-f]{40}$/;

export function isCommitHash(s: string): boolean {
  return COMMIT.test(s);
}

function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

/** The huggingface_hub cache root for this environment (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/…). */
export function hfHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const direct = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (direct) return path.resolve(expandHome(direct));
  if (env.HF_HOME) return path.resolve(expandHome(env.HF_HOME), 'hub');
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.resolve(xdg, 'huggingface', 'hub');
}

/** Where Lockstep keeps downloaded models: LOCKSTEP_MODELS_DIR when set, else the shared Hugging Face cache. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCKSTEP_MODELS_DIR) return path.resolve(expandHome(env.LOCKSTEP_MODELS_DIR));
  return hfHubCacheDir(env);
}

/** "org/name" → "models--org--name". */
export function repoFolderName(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

export function repoCacheDir(cacheDir: string, repo: string): string {
  return path.join(cacheDir, repoFolderName(repo));
}

/** The cache path of a repository file: POSIX separators in `file` become the platform's. */
export function localPath(base: string, file: string): string {
  return path.join(base, ...file.split('/'));
}

export function snapshotDir(repoDir: string, commit: string): string {
  return path.join(repoDir, 'snapshots', commit);
}

export function readRef(repoDir: string, revision: string): string | undefined {
  try {
    const v = fs.readFileSync(localPath(path.join(repoDir, 'refs'), revision), 'utf8').trim();
    return isCommitHash(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Writes refs/<revision> = commit atomically (a no-op for a revision that is itself a commit). */
export function writeRef(repoDir: string, revision: string, commit: string): void {
  if (isCommitHash(revision)) return;
  const file = localPath(path.join(repoDir, 'refs'), revision);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, commit);
  fs.renameSync(tmp, file);
}

/** The commit a revision stands for in this cache: itself when it is a commit hash, else refs/<revision>. */
export function resolveCachedCommit(repoDir: string, revision: string): string | undefined {
  return isCommitHash(revision) ? revision : readRef(repoDir, revision);
}

export function noExistMarker(repoDir: string, commit: string, file: string): string {
  return localPath(path.join(repoDir, '.no_exist', commit), file);
}

/** True when a snapshot file is there and whole (a symlink whose blob is present, or a copied file). */
export function snapshotFileComplete(repoDir: string, commit: string, file: CacheFileSpec): boolean {
  const p = localPath(snapshotDir(repoDir, commit), file.path);
  try {
    const st = fs.statSync(p); // follows the symlink: a dangling link throws
    if (!st.isFile()) return false;
    return file.size === undefined || file.size === null || st.size === file.size;
  } catch {
    return false;
  }
}

/** The file is present, or it is optional and known not to exist at this commit. */
export function snapshotFileSettled(repoDir: string, commit: string, file: CacheFileSpec): boolean {
  if (snapshotFileComplete(repoDir, commit, file)) return true;
  return !!file.optional && fs.existsSync(noExistMarker(repoDir, commit, file.path));
}

/**
 * The snapshot directory holding all `files` of `repo` at `revision` (a commit, or a branch name resolved through
 * refs/), or undefined when something is missing.
 */
export function findCompleteSnapshot(
  cacheDir: string, repo: string, revision: string, files: readonly CacheFileSpec[],
): string | undefined {
  const repoDir = repoCacheDir(cacheDir, repo);
  const commit = resolveCachedCommit(repoDir, revision);
  if (commit === undefined) return undefined;
  if (!files.every((f) => snapshotFileSettled(repoDir, commit, f))) return undefined;
  return snapshotDir(repoDir, commit);
}
