/**
 * Lock files that keep two processes (CLI runs, VS Code windows) from fetching the same file at once:
 * .locks/models--org--name/<blob>.lockstep.lock holds pid, host and time and is refreshed while held; it is stale when
 * its process is gone or it has not been refreshed for lockStaleMs. The second comer waits, then finds the file whole.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cancelled, diskError } from './downloadErrors';
import { ProgressState, emit } from './downloadProgress';
import { repoFolderName } from './hubCache';

/** What taking a lock needs from the download's context. */
export interface LockContext extends ProgressState {
  entry: { id: string };
  signal?: AbortSignal;
  lockStaleMs: number;
  lockPollMs: number;
}

/** The lock file of one blob name (its sha256, else its etag) of a repository. */
export function lockFileFor(cacheDir: string, repo: string, name: string): string {
  return path.join(cacheDir, '.locks', repoFolderName(repo), `${name}.lockstep.lock`);
}

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
export async function acquireLock(ctx: LockContext, file: string, label: string): Promise<() => void> {
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
