/**
 * Download Models, without `vscode`: running the Hub downloader for a list of catalog entries with progress and
 * cancellation. The downloader itself (src/models/download.ts) is passed in, so this is unit-tested with a fake one.
 */
import type { Device } from '../engine/runtime/device';
import type { CatalogEntry } from '../models/catalog';
import type { DownloadOptions } from '../models/download';
import type { DownloadProgress } from '../models/downloadProgress';

/** src/models' downloadModel: fetches an entry's files into the cache and returns its snapshot directory. */
export type DownloadFn = (entry: CatalogEntry, options: DownloadOptions) => Promise<string>;

/** Percentage (0..100) of a download from the downloader's (bytes, total) report; undefined while the total is unknown. */
export function percentOf(bytes: number, total: number | undefined): number | undefined {
  if (total === undefined || !(total > 0) || !Number.isFinite(bytes)) return undefined;
  return Math.min(100, Math.max(0, (100 * bytes) / total));
}

/** Short human size: 1.2 GB, 340 MB, 12 kB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x >= 100 || i === 0 ? Math.round(x) : x.toFixed(1)} ${units[i]}`;
}

/** A rough download size for the picker (the recommendation's own measure). */
export { variantBytes as approximateSize } from '../models/recommend';

export interface DownloadOutcome {
  id: string;
  ok: boolean;
  cancelled: boolean;
  dir?: string;
  error?: string;
}

/**
 * The variant Download Models fetches for an entry: the catalog's choice for the device the engine will most likely
 * run on (e.g. q4 for the CPU, q4f16 for WebGPU); undefined — the entry's default — when that is not known.
 */
export function downloadVariant(entry: CatalogEntry, device: Device | undefined): string | undefined {
  return device === undefined ? undefined : entry.deviceVariants?.[device];
}

/** Downloads entries one after another; stops at cancellation. `report` gets (entry index, percent or undefined). */
export async function downloadAll(
  download: DownloadFn,
  entries: readonly CatalogEntry[],
  opts: Omit<DownloadOptions, 'onProgress' | 'variant'> & { variantOf?: (e: CatalogEntry) => string | undefined },
  report: (index: number, entry: CatalogEntry, percent: number | undefined, detail?: DownloadProgress) => void,
): Promise<DownloadOutcome[]> {
  const out: DownloadOutcome[] = [];
  for (const [index, entry] of entries.entries()) {
    if (opts.signal?.aborted) {
      out.push({ id: entry.id, ok: false, cancelled: true });
      continue;
    }
    report(index, entry, 0);
    try {
      const dir = await download(entry, {
        variant: opts.variantOf?.(entry),
        endpoint: opts.endpoint,
        cacheDir: opts.cacheDir,
        token: opts.token,
        signal: opts.signal,
        onProgress: (bytes, total, detail) => report(index, entry, percentOf(bytes, total), detail),
      });
      report(index, entry, 100);
      out.push({ id: entry.id, ok: true, cancelled: false, dir });
    } catch (e) {
      const cancelled = opts.signal?.aborted === true;
      out.push({ id: entry.id, ok: false, cancelled, error: cancelled ? undefined : (e as Error).message });
    }
  }
  return out;
}
