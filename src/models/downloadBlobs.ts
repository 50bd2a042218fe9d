/**
 * One file's bytes into the cache: a GET streamed into blobs/<name>.incomplete (an existing one resumed with Range), its
 * sha256 computed while streaming and checked before the atomic rename to blobs/<sha256>, then the snapshot's link to
 * the blob; the .no_exist marker of an absent optional file; and the free-space check before anything is fetched.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DownloadError, cancelled, diskError } from './downloadErrors';
import { ProgressState, emit } from './downloadProgress';
import { asDownloadError, expectsHtml, header, isHtmlType, looksLikeHtml, parseContentRange, readSome, request } from './downloadHttp';
import { localPath, noExistMarker, snapshotDir } from './hubCache';
import { HubContext, statusError } from './hubProtocol';

/** What writing a file needs from the download's context. */
export interface BlobContext extends HubContext, ProgressState {
  entry: { id: string };
  repoDir: string;
  opts: ProgressState['opts'] & { linkMode?: 'auto' | 'copy' };
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

export function markNoExist(repoDir: string, commit: string, file: string): void {
  const marker = noExistMarker(repoDir, commit, file);
  try {
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, '');
  } catch (e) {
    throw diskError(e, `cannot write ${marker}`);
  }
}

export function checkSpace(cacheDir: string, items: { size: number; sha?: string }[], repoDir: string): void {
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

export function blobPath(ctx: BlobContext, name: string): string {
  return path.join(ctx.repoDir, 'blobs', name);
}

export function blobComplete(ctx: BlobContext, sha: string, size: number | null): boolean {
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

/**
 * One GET of a file into `incomplete` (resuming it), checked and renamed to blobs/<sha256>. Returns the sha256.
 * Throws transient errors for cut or stalled transfers (the bytes so far stay), and final ones otherwise.
 */
export async function transfer(
  ctx: BlobContext, url: string, incomplete: string, file: string, expected: { sha256: string | null; size: number | null },
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

/** Final checks on a whole .incomplete, then the atomic rename to blobs/<sha256>. */
function finish(ctx: BlobContext, incomplete: string, file: string, sha: string): string {
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
export function linkSnapshot(ctx: BlobContext, commit: string, file: string, sha: string): void {
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
