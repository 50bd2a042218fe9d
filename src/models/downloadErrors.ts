/**
 * The one error type of a download: DownloadError's `code` says what went wrong (DownloadErrorCode), its message is
 * one line a user can act on, and `transient` says whether it is worth retrying. Also the two errors every part of a
 * download makes: a cancellation and a file-system failure.
 */
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

export function cancelled(entry: { id: string }, detail = ''): DownloadError {
  return new DownloadError('cancelled', `download of '${entry.id}' cancelled${detail}`);
}

export function diskError(e: unknown, what: string): DownloadError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'no space left on the device' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
  return new DownloadError('disk', `${what}: ${why}`, { cause: e });
}
