/**
 * `lockstep download <id>... [--variant V] [--endpoint URL] [--models-dir DIR]` and `lockstep download --list`:
 * progress on stderr, each model's directory on stdout (or JSON with --json). Errors are thrown (main() prints
 * them as one line).
 */
import * as path from 'node:path';
import * as A from './args';
import { UsageError } from './args';
import { EXIT_STATUS_HELP } from './io';
import {
  Catalog, CatalogEntry, catalogNotices, defaultVariantOf, entryDir, filesFor, findEntry, isDownloadable, loadCatalog, loadCatalogOrBundled,
  variantNames,
} from '../models/catalog';
import { downloadModelDetailed, downloadedDir } from '../models/download';
import type { DownloadProgress } from '../models/downloadProgress';
import { defaultModelsDir } from '../models/hubCache';

/** The part of the CLI's I/O this command uses (src/cli/io.ts's CliIo fits). */
export interface DownloadIo {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
}

export const downloadDefs = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
  json: A.flag('print one JSON object per model (directory, commit, variant, files with size and sha256)'),
  list: A.flag('list the downloadable models, their variants and what is already downloaded'),
  catalog: A.single(A.str, 'FILE', 'model catalog (default: models.json of the package)'),
  variant: A.single(A.str, 'V', "ONNX variant, e.g. q4f16, int8, fp16, fp32 (default: the model's default; see --list)"),
  endpoint: A.single(A.str, 'URL', 'Hugging Face endpoint (default: HF_ENDPOINT, else https://huggingface.co)'),
  'models-dir': A.single(A.str, 'DIR', 'models directory in the Hugging Face cache layout (default: LOCKSTEP_MODELS_DIR, HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)'),
};

export function downloadHelp(): string {
  return 'Usage: lockstep download <id>... [options]\n' +
    '       lockstep download --list\n' +
    'Downloads catalog models from the Hugging Face Hub into the Hugging Face cache layout (shared with Python tools;\n' +
    'a model already there is not fetched again). Interrupted downloads resume; every file is checked (size, sha256)\n' +
    'before it is used. Progress goes to stderr, each model\'s directory to stdout.\n' +
    'Environment: HF_TOKEN (gated/private models), HF_ENDPOINT (mirror), HF_HUB_OFFLINE=1 (no network: cache only),\n' +
    'HF_HUB_CACHE / HF_HOME / LOCKSTEP_MODELS_DIR (where models are kept).\n' +
    'A host that refuses the connection or cannot be reached fails at once; a transfer that breaks off is retried.\n\n' +
    `Options:\n${A.describeOptions(downloadDefs)}\n\n${EXIT_STATUS_HELP}`;
}

function mb(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

function listModels(catalog: Catalog, cacheDir: string, io: DownloadIo, json: boolean): void {
  const rows = catalog.models.map((m) => {
    if (!isDownloadable(m)) return { id: m.id, role: m.role, family: m.family, bundled: entryDir(catalog, m) };
    const variants = variantNames(m).length > 0 ? variantNames(m) : [undefined];
    return {
      id: m.id, role: m.role, family: m.family, repo: m.repo, commit: m.commit, defaultVariant: defaultVariantOf(m),
      variants: variants.map((v) => ({
        variant: v ?? null,
        approxBytes: v === undefined ? undefined : m.variants?.[v]?.approxBytes,
        ...(v !== undefined && m.variants?.[v]?.exact === false ? { exact: false } : {}),
        dir: downloadedDir(m, v, cacheDir) ?? null,
      })),
    };
  });
  if (json) {
    io.stdout(`${JSON.stringify({ modelsDir: cacheDir, models: rows })}\n`);
    return;
  }
  io.stdout(`models directory: ${cacheDir}\n`);
  for (const r of rows) {
    if ('bundled' in r) {
      io.stdout(`${r.id}  (${r.role}, ${r.family}) — ships with Lockstep\n`);
      continue;
    }
    io.stdout(`${r.id}  (${r.role}, ${r.family}) — ${r.repo}@${r.commit}\n`);
    for (const v of r.variants) {
      const name = v.variant ?? '(files)';
      const size = v.approxBytes ? `~${mb(v.approxBytes)}` : '';
      const mark = v.variant !== null && v.variant === r.defaultVariant ? ' (default)' : 'exact' in v ? ' (never exact)' : '';
      io.stdout(`    ${`${name}${mark}`.padEnd(20)} ${size.padEnd(10)} ${v.dir ? `downloaded: ${v.dir}` : 'not downloaded'}\n`);
    }
  }
}

export async function downloadCommand(argv: string[], io: DownloadIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, downloadDefs);
  if (o.help) {
    io.stdout(`${downloadHelp()}\n`);
    return 0;
  }
  // As the other commands: the package's catalog falls back to the shipped models; its warnings go to stderr.
  const catalog = o.catalog === undefined ? loadCatalogOrBundled() : loadCatalog(path.resolve(io.cwd, o.catalog));
  for (const line of catalogNotices(catalog)) io.stderr(`lockstep: warning: ${line}\n`);
  const cacheDir = o['models-dir'] !== undefined ? path.resolve(io.cwd, o['models-dir']) : defaultModelsDir();
  if (o.list) {
    if (positionals.length > 0) throw new UsageError('--list takes no model ids');
    listModels(catalog, cacheDir, io, o.json);
    return 0;
  }
  const downloadable = catalog.models.filter(isDownloadable).map((m) => m.id);
  if (positionals.length === 0) {
    throw new UsageError(`name the model(s) to download: ${downloadable.join(', ') || 'the catalog has none'} (see 'lockstep download --list')`);
  }
  const entries: CatalogEntry[] = positionals.map((id) => {
    const e = findEntry(catalog, id);
    if (!e) throw new UsageError(`unknown model '${id}' (downloadable: ${downloadable.join(', ') || 'none'})`);
    return e;
  });
  if (o.variant !== undefined) {
    for (const e of entries) {
      // An unknown variant is a usage error (exit 2, like an unknown id), before anything is fetched.
      if (!isDownloadable(e)) continue;
      try {
        filesFor(e, o.variant);
      } catch (err) {
        throw new UsageError(`--variant: ${(err as Error).message}`);
      }
    }
  }

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    for (const e of entries) {
      if (!isDownloadable(e)) {
        io.stderr(`${e.id} ships with Lockstep: nothing to download\n`);
        io.stdout(o.json ? `${JSON.stringify({ id: e.id, dir: entryDir(catalog, e), bundled: true })}\n` : `${entryDir(catalog, e)}\n`);
        continue;
      }
      const variant = o.variant ?? defaultVariantOf(e);
      io.stderr(`${e.id}${variant ? ` (${variant})` : ''}: ${e.repo}@${e.commit} → ${cacheDir}\n`);
      let lastFile: string | undefined;
      let lastLine = 0;
      const t0 = Date.now();
      const onProgress = (bytes: number, total: number | undefined, d: DownloadProgress) => {
        if ((d.stage === 'waiting' || d.stage === 'retrying') && d.message) {
          io.stderr(`  ${d.message}\n`);
          return;
        }
        if (d.stage === 'downloading' && d.file !== undefined && d.file !== lastFile) {
          lastFile = d.file;
          const of = d.fileIndex && d.fileCount ? `[${d.fileIndex}/${d.fileCount}] ` : '';
          const resumed = d.fileBytes ? `, resuming at ${mb(d.fileBytes)}` : '';
          io.stderr(`  ${of}${d.file}${d.fileTotal !== undefined ? ` (${mb(d.fileTotal)}${resumed})` : ''}\n`);
        }
        const now = Date.now();
        if (d.stage === 'downloading' && total && now - lastLine >= 2000) {
          lastLine = now;
          const rate = bytes / Math.max(0.001, (now - t0) / 1000);
          io.stderr(`  ${((100 * bytes) / total).toFixed(0).padStart(3)}%  ${mb(bytes)} / ${mb(total)}  ${mb(rate)}/s\n`);
        }
      };
      const r = await downloadModelDetailed(e, {
        variant: o.variant, endpoint: o.endpoint, cacheDir, signal: controller.signal, onProgress,
      });
      const fetched = r.files.filter((f) => f.transferred);
      io.stderr(fetched.length === 0
        ? `  already downloaded (commit ${r.commit})\n`
        : `  done: ${fetched.length} file${fetched.length === 1 ? '' : 's'}, ${mb(fetched.reduce((s, f) => s + (f.size ?? 0), 0))}, sha256 checked (commit ${r.commit})\n`);
      for (const d of e.recommendedDrafters ?? []) {
        const de = findEntry(catalog, d);
        if (de && isDownloadable(de) && downloadedDir(de, undefined, cacheDir) === undefined) {
          io.stderr(`  its recommended drafter ${d} is not downloaded: lockstep download ${d}\n`);
          break;
        }
      }
      io.stdout(o.json ? `${JSON.stringify({ id: e.id, ...r })}\n` : `${r.dir}\n`);
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  return 0;
}
