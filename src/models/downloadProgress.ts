/**
 * Progress of a download as its caller sees it: the stages and the details passed to `onProgress`, and `emit`, which
 * reports the bytes done and the total, at most every 100 ms and at each change of stage or file.
 */
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

/** The progress accounting a download carries along (part of its context), as `emit` reads it. */
export interface ProgressState {
  opts: { onProgress?: (bytes: number, total: number | undefined, detail: DownloadProgress) => void };
  done: number;
  total: number | undefined;
  lastEmit: number;
  fileIndex: number;
  fileCount: number;
}

export function emit(ctx: ProgressState, detail: DownloadProgress, force = false): void {
  const cb = ctx.opts.onProgress;
  if (!cb) return;
  const now = Date.now();
  if (!force && now - ctx.lastEmit < 100) return;
  ctx.lastEmit = now;
  cb(ctx.done, ctx.total, { fileIndex: ctx.fileIndex || undefined, fileCount: ctx.fileCount || undefined, ...detail });
}
