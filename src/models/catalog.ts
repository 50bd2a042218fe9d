/**
 * The model catalog (models.json at the package root): which models Lockstep knows by name, where a bundled one
 * lives, which drafters suit a target, and (for Hub-hosted models) where to download them from. This file loads the
 * catalog and resolves model specifications; catalogTypes.ts holds the types and errors, catalogValidate.ts the
 * validation (per entry: a bad entry is left out with one warning, the rest loads). Import all of it from here.
 *
 * A downloadable entry names a Hugging Face repository (`repo`), a revision (`commit`: a 40-hex commit, or a branch
 * such as "main" that the first download resolves and pins in the cache's refs/), the files every variant needs
 * (`files`) and per variant (`variants.<name>.files`). A file is a path, or {path, size, sha256, optional}; a size or
 * sha256 of null is not known in advance and is checked against what the Hub reports (X-Linked-Size,
 * X-Linked-Etag) on first download. `"verify": "on-first-download"` marks an entry whose commit, sizes and hashes
 * were not checked when the catalog was written. `deviceVariants` names the variant that suits each execution device
 * (the extension passes the downloaded ones to the engine, which picks by the device it ends up on).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Device } from '../engine/runtime/device';
import { MEASURED_EXACT } from '../engine/runtime/modelDir';
import { defaultModelsDir, findCompleteSnapshot, repoCacheDir } from './hubCache';
import {
  Catalog, CatalogEntry, CatalogError, CatalogFileSpec, DeviceVariants, ModelFile, ModelSpecError,
} from './catalogTypes';
import { CATALOG_DEVICES, bundledPathProblem, modelsFolder, validateCatalog } from './catalogValidate';
import { packageRoot } from './packageRoot';

export * from './catalogTypes';
export { CATALOG_DEVICES, PATTERNS, bundledPathProblem, modelsFolder, validateCatalog } from './catalogValidate';
export { packageRoot } from './packageRoot';

export function defaultCatalogFile(): string {
  return path.join(packageRoot(), 'models.json');
}

/**
 * Reads and validates a catalog file (default: models.json at the package root). Throws CatalogError when the file
 * cannot be used at all; a bad entry is left out and described in `warnings`.
 */
export function loadCatalog(file?: string): Catalog {
  const abs = path.resolve(file ?? defaultCatalogFile());
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new CatalogError(`cannot read the model catalog ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CatalogError(`${abs}: not valid JSON (${(e as Error).message})`);
  }
  return validateCatalog(raw, abs);
}

/**
 * The models shipped with Lockstep, as the shipped models.json lists them (test/models/catalog-loading.test.ts checks that
 * the two agree): what loadCatalogOrBundled falls back to when models.json cannot be used at all.
 */
const DEMO_LANGUAGES = ['javascript', 'typescript', 'javascriptreact', 'typescriptreact'];
const BUNDLED_MODELS: readonly Record<string, unknown>[] = [
  {
    id: 'lockstep-target', name: 'Lockstep target (7.3M-parameter Llama, JavaScript/TypeScript)', role: 'target',
    family: 'lockstep-bpe4096', fim: 'lockstep', parameters: 7344384, license: 'MIT', bundled: 'models/lockstep-target', demo: true, languages: DEMO_LANGUAGES,
    recommendedDrafters: ['lockstep-drafter-b', 'lockstep-drafter-a'],
  },
  {
    id: 'lockstep-drafter-a', name: 'Lockstep drafter A (0.3M parameters)', role: 'drafter', family: 'lockstep-bpe4096',
    fim: 'lockstep', parameters: 311488, license: 'MIT', bundled: 'models/lockstep-drafter-a', demo: true, languages: DEMO_LANGUAGES,
  },
  {
    id: 'lockstep-drafter-b', name: 'Lockstep drafter B (0.9M parameters)', role: 'drafter', family: 'lockstep-bpe4096',
    fim: 'lockstep', parameters: 901760, license: 'MIT', bundled: 'models/lockstep-drafter-b', demo: true, languages: DEMO_LANGUAGES,
  },
];

/** The catalog of the shipped models only (see BUNDLED_MODELS), with `error` saying why models.json was not used. */
export function bundledCatalog(error: string): Catalog {
  const c = validateCatalog({ version: 1, models: BUNDLED_MODELS.map((m) => structuredClone(m)) }, defaultCatalogFile());
  return { ...c, error };
}

/**
 * The catalog for a program that should keep working with a broken one (the extension, the CLI without --catalog):
 * loadCatalog(file), or, when the file cannot be used at all, the models shipped with Lockstep with `error` set.
 */
export function loadCatalogOrBundled(file?: string): Catalog {
  try {
    return loadCatalog(file);
  } catch (e) {
    const why = e instanceof CatalogError ? e.message : `cannot load the model catalog: ${(e as Error).message}`;
    try {
      return bundledCatalog(why);
    } catch {
      return { version: 1, models: [], file: '', warnings: [], error: why }; // not even the package root is found
    }
  }
}

/**
 * What to tell the user about a loaded catalog, one line each: why it fell back to the shipped models (if it did),
 * then its warnings.
 */
export function catalogNotices(catalog: Catalog): string[] {
  const fallback = catalog.error === undefined ? [] : [`the model catalog cannot be used (${catalog.error}): only the models shipped with Lockstep are available`];
  return [...fallback, ...catalog.warnings];
}

/**
 * One message summing up catalogNotices for a notification (undefined when there is nothing to say); the log has
 * every line.
 */
export function catalogSummary(catalog: Catalog): string | undefined {
  const lines = catalogNotices(catalog);
  const n = lines.length;
  if (n === 0) return undefined;
  const more = n > 1 ? ` (and ${n - 1} more problem${n > 2 ? 's' : ''} in the log)` : '';
  if (catalog.error !== undefined) return `${lines[0]}${more}.`;
  return `${n} problem${n === 1 ? '' : 's'} in the model catalog: ${lines[0]}${more}. The other models work.`;
}

function toModelFile(f: string | CatalogFileSpec): ModelFile {
  if (typeof f === 'string') return { path: f, size: null, sha256: null, optional: false };
  return { path: f.path, size: f.size ?? null, sha256: f.sha256 ?? null, optional: f.optional ?? false };
}

/** True when the entry is fetched from the Hub (it has a repo and is not shipped with Lockstep). */
export function isDownloadable(entry: CatalogEntry): boolean {
  return entry.repo !== undefined && entry.bundled === undefined;
}

/** The entry's variant names, in catalog order (empty for an entry that lists only `files`). */
export function variantNames(entry: CatalogEntry): string[] {
  return Object.keys(entry.variants ?? {});
}

/** True for a variant the catalog marks "exact": false (never chosen automatically). */
export function neverExact(entry: CatalogEntry, variant: string | undefined): boolean {
  return variant !== undefined && entry.variants?.[variant]?.exact === false;
}

/** The variant used when none is named: defaultVariant, else the first one (undefined without variants). */
export function defaultVariantOf(entry: CatalogEntry): string | undefined {
  return entry.defaultVariant ?? variantNames(entry)[0];
}

/**
 * Every file a variant of a downloadable entry needs: the common files, then the variant's own. `variant`
 * defaults to defaultVariantOf(entry). Throws (naming the entry and the known variants) for an unknown variant.
 */
export function filesFor(entry: CatalogEntry, variant?: string): ModelFile[] {
  const common = (entry.files ?? []).map(toModelFile);
  const names = variantNames(entry);
  const v = variant ?? defaultVariantOf(entry);
  if (v === undefined) return common;
  const spec = entry.variants?.[v];
  if (!spec) {
    throw new ModelSpecError(
      `model '${entry.id}' has no variant "${v}" (${names.length > 0 ? `variants: ${names.join(', ')}` : 'it has no variants'})`,
    );
  }
  return [...common, ...spec.files.map(toModelFile)];
}

/** Options for finding downloaded models. */
export interface ResolveOptions {
  /** Models directory in the Hugging Face cache layout (default: LOCKSTEP_MODELS_DIR, HF_HUB_CACHE, HF_HOME/hub …). */
  cacheDir?: string;
  /** The variant wanted (default: the entry's default variant, else any downloaded variant). */
  variant?: string;
  /** Environment to read the cache location from (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Where a downloadable entry's variant is complete in the cache, if it is (no network). */
export function downloadedDir(entry: CatalogEntry, variant: string | undefined, cacheDir: string): string | undefined {
  if (entry.repo === undefined || entry.commit === undefined) return undefined;
  let files: ModelFile[];
  try {
    files = filesFor(entry, variant);
  } catch {
    return undefined;
  }
  try {
    return findCompleteSnapshot(cacheDir, entry.repo, entry.commit, files);
  } catch {
    return undefined;
  }
}

/**
 * The downloaded variant of an entry: the requested one, else the default, else the first other variant that is
 * complete in the cache.
 */
export function findDownloaded(entry: CatalogEntry, opts: ResolveOptions = {}): { dir: string; variant?: string } | undefined {
  const cacheDir = opts.cacheDir ?? defaultModelsDir(opts.env);
  if (opts.variant !== undefined) {
    const dir = downloadedDir(entry, opts.variant, cacheDir);
    return dir === undefined ? undefined : { dir, variant: opts.variant };
  }
  const first = defaultVariantOf(entry);
  // A variant that can never be exact is used only when asked for by name.
  const order = first === undefined ? [undefined] : [first, ...variantNames(entry).filter((v) => v !== first && !neverExact(entry, v))];
  for (const v of order) {
    const dir = downloadedDir(entry, v, cacheDir);
    if (dir !== undefined) return { dir, variant: v };
  }
  return undefined;
}

/**
 * The entry's deviceVariants limited to the variants complete in `dir` (the snapshot the model resolved to). A device
 * whose variant is not downloaded (or sits in another snapshot) is left out: on it the engine loads the resolved
 * variant, so a missing download never stops the model from loading.
 */
export function downloadedDeviceVariants(entry: CatalogEntry, dir: string, opts: ResolveOptions = {}): DeviceVariants {
  const out: DeviceVariants = {};
  if (entry.deviceVariants === undefined) return out;
  const cacheDir = opts.cacheDir ?? defaultModelsDir(opts.env);
  const here = path.resolve(dir);
  const complete = new Map<string, boolean>();
  for (const device of CATALOG_DEVICES) {
    const variant = entry.deviceVariants[device];
    if (variant === undefined) continue;
    if (!complete.has(variant)) {
      const found = downloadedDir(entry, variant, cacheDir);
      complete.set(variant, found !== undefined && path.resolve(found) === here);
    }
    if (complete.get(variant)) out[device] = variant;
  }
  return out;
}

/**
 * For each device whose catalog variant is not among `downloaded`, the message saying so: the variant, why another
 * downloaded one is not used instead, and the download command; `ask` says how to ask for a variant by name. A
 * downloaded variant measured exact on the device (fp32 on the CPU) is used instead without a word.
 */
export function missingDeviceVariants(entry: CatalogEntry, downloaded: DeviceVariants, resolvedVariant: string | undefined, ask: string): DeviceVariants {
  const out: DeviceVariants = {};
  for (const [device, v] of Object.entries(entry.deviceVariants ?? {}) as [Device, string][]) {
    if (downloaded[device] !== undefined) continue;
    if (resolvedVariant !== undefined && resolvedVariant !== v && MEASURED_EXACT[device]?.includes(resolvedVariant)) continue;
    const other = resolvedVariant === undefined ? '' : ` (${resolvedVariant} is, but it is not the one measured exact on ${device})`;
    out[device] = `model '${entry.id}': its variant for ${device}, ${v}, is not downloaded${other} — run ` +
      `\`lockstep download ${entry.id} --variant ${v}\`, or ${ask}`;
  }
  return out;
}

export function findEntry(catalog: Catalog, id: string): CatalogEntry | undefined {
  return catalog.models.find((m) => m.id === id);
}

/**
 * Where a catalog entry's files are: its bundled directory, or undefined when it has none (not downloaded). Use
 * entryStatus before reading it: that also checks the directory is inside the models folder.
 */
export function entryDir(catalog: Catalog, entry: CatalogEntry): string | undefined {
  if (!entry.bundled) return undefined;
  const base = catalog.file ? path.dirname(catalog.file) : packageRoot();
  return path.resolve(base, entry.bundled);
}

export interface EntryStatus {
  entry: CatalogEntry;
  available: boolean;
  dir?: string;
  /** The ONNX variant found (downloaded entries with variants). */
  variant?: string;
  /** Why the model cannot be used now (absent when available). */
  reason?: string;
}

/** The message for a downloadable model that is not (completely) in the cache. */
export function notDownloadedMessage(entry: CatalogEntry, variant?: string): string {
  const v = variant !== undefined && variant !== defaultVariantOf(entry) ? variant : undefined;
  const what = v === undefined ? `model '${entry.id}'` : `model '${entry.id}' (variant ${v})`;
  const cmd = v === undefined ? `lockstep download ${entry.id}` : `lockstep download ${entry.id} --variant ${v}`;
  return `${what} is not downloaded — run \`${cmd}\` (or the Download Models command)`;
}

/**
 * Whether an entry can be used now: a bundled entry when its directory exists; a downloadable one when a variant
 * (opts.variant, else the default, else any) is complete in the models directory (opts.cacheDir, else the default).
 */
export function entryStatus(catalog: Catalog, entry: CatalogEntry, opts: ResolveOptions = {}): EntryStatus {
  const dir = entryDir(catalog, entry);
  if (dir === undefined) {
    if (opts.variant !== undefined && entry.variants !== undefined && !(opts.variant in entry.variants)) {
      return { entry, available: false, reason: `model '${entry.id}' has no variant "${opts.variant}" (variants: ${variantNames(entry).join(', ')})` };
    }
    const found = findDownloaded(entry, opts);
    if (found) return { entry, available: true, dir: found.dir, variant: found.variant };
    return { entry, available: false, reason: notDownloadedMessage(entry, opts.variant) };
  }
  // validateCatalog checked this; again here for catalogs built in code and for links changed since.
  const problem = bundledPathProblem(entry.bundled!, catalog.file ? path.dirname(path.resolve(catalog.file)) : packageRoot(), modelsFolder(catalog.file));
  if (problem !== undefined) return { entry, available: false, dir, reason: `model '${entry.id}': field "bundled" ${problem}` };
  if (!isDirectory(dir)) {
    return { entry, available: false, dir, reason: `model '${entry.id}': its bundled directory ${dir} is missing` };
  }
  return { entry, available: true, dir };
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when a spec looks like a path rather than an id ("./x", "../x", "/x", "C:\x", "a/b"). */
function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || spec.startsWith('.') || path.isAbsolute(spec);
}

/**
 * A model specification → an absolute model directory. `spec` is a catalog id or a local directory (absolute or
 * relative to the working directory) in the Hugging Face ONNX layout. A catalog id wins over a same-named
 * directory unless the spec is written as a path (contains a separator or starts with "."). A downloadable id
 * resolves to its snapshot directory in the cache when complete there (see entryStatus), and otherwise fails with
 * "not downloaded — run `lockstep download <id>`".
 */
export function resolveModelDir(spec: string, catalog: Catalog, cwd = process.cwd(), opts: ResolveOptions = {}): string {
  return resolveModel(spec, catalog, cwd, opts).dir;
}

export interface ResolvedModel {
  dir: string;
  /** The catalog entry, when the spec is a catalog id. */
  entry?: CatalogEntry;
  /** The ONNX variant to load, for a downloaded entry with variants (the engine's `variant` option). */
  variant?: string;
}

/** resolveModelDir, also telling which catalog entry and which downloaded variant the directory holds. */
export function resolveModel(spec: string, catalog: Catalog, cwd = process.cwd(), opts: ResolveOptions = {}): ResolvedModel {
  if (spec === '') throw new ModelSpecError('empty model name');
  const entry = looksLikePath(spec) ? undefined : findEntry(catalog, spec);
  if (entry) {
    const status = entryStatus(catalog, entry, opts);
    if (!status.available) throw new ModelSpecError(status.reason!);
    return { dir: status.dir!, entry, variant: status.variant };
  }
  const dir = path.resolve(cwd, spec);
  if (fs.existsSync(dir)) {
    if (!isDirectory(dir)) throw new ModelSpecError(`model '${spec}' is a file, not a model directory (${dir})`);
    if (!fs.existsSync(path.join(dir, 'config.json'))) {
      throw new ModelSpecError(`${dir} is not a model directory in the Hugging Face layout: config.json is missing`);
    }
    return { dir };
  }
  const known = catalog.models.map((m) => m.id).join(', ') || 'none';
  throw new ModelSpecError(`unknown model '${spec}': not a catalog id (known: ${known}) and not a directory`);
}

/**
 * The catalog entry a model directory belongs to, if any: a bundled directory, or a snapshot directory
 * (snapshots/<commit>) of a downloadable entry's repository in the models directory.
 */
export function entryForDir(catalog: Catalog, dir: string, opts: ResolveOptions = {}): CatalogEntry | undefined {
  const want = path.resolve(dir);
  const bundled = catalog.models.find((m) => {
    const d = entryDir(catalog, m);
    return d !== undefined && path.resolve(d) === want;
  });
  if (bundled) return bundled;
  const cacheDir = opts.cacheDir ?? defaultModelsDir(opts.env);
  return catalog.models.find((m) => {
    if (!isDownloadable(m)) return false;
    const snapshots = path.join(repoCacheDir(cacheDir, m.repo!), 'snapshots');
    return path.dirname(want) === snapshots;
  });
}
