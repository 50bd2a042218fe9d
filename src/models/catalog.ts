/**
 * The model catalog (models.json at the package root): which models Lockstep knows by name, where a bundled one
 * lives, which drafters suit a target, and (for Hub-hosted models) where to download them from.
 *
 * Validation names the entry (index and id) and the field, so a hand-edited catalog is easy to fix. Fields the
 * loader does not know are kept as they are, so a newer catalog still loads in an older build. models.schema.json
 * describes the same rules for editors (test/catalog.test.ts checks that the two agree); the rules that need
 * more than one entry or field (unique ids, recommended drafters, defaultVariant and deviceVariants among the
 * variants, no path listed twice) are checked here only.
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
import { DEVICES, type Device } from '../engine/device';
import { CacheFileSpec, defaultModelsDir, findCompleteSnapshot, repoCacheDir } from './hubCache';

export type ModelRole = 'target' | 'drafter' | 'both';

/** The ONNX variant to use per execution device (a subset of the entry's variants). */
export type DeviceVariants = Partial<Record<Device, string>>;

export interface CatalogEntry {
  id: string;
  /** Human-readable name (the id when absent). */
  name: string;
  role: ModelRole;
  /** Tokenizer family: models share a vocabulary exactly when their families are equal. */
  family: string;
  /** FIM template name (recognised from the tokenizer when absent). */
  fim?: string;
  /** Directory of a model shipped with Lockstep, relative to the catalog file. */
  bundled?: string;
  /** Catalog ids of drafters that suit this target, best first. */
  recommendedDrafters?: string[];
  /** Hugging Face repository ("org/name") of a downloadable model. */
  repo?: string;
  /** Revision to download: a pinned 40-hex commit, or a branch ("main") resolved and pinned on first download. */
  commit?: string;
  /** Files every variant needs (config, tokenizer …): a path, or a file object. */
  files?: (string | CatalogFileSpec)[];
  /** The ONNX variants (fp32, fp16, q4f16, int8 …) and their own files. */
  variants?: Record<string, CatalogVariant>;
  /** The variant downloaded and used when none is named (must be a key of variants). */
  defaultVariant?: string;
  /** The variant that suits each execution device (e.g. q4f16 on WebGPU, q4 on the CPU), used when downloaded. */
  deviceVariants?: DeviceVariants;
  /** "pinned": commit, sizes and hashes are known; "on-first-download": recorded from the Hub's answer. */
  verify?: 'pinned' | 'on-first-download';
  /** Any other field is kept as it was read. */
  [extra: string]: unknown;
}

/** A file of a downloadable model as written in the catalog. */
export interface CatalogFileSpec {
  path: string;
  /** Bytes; null or absent when not known in advance. */
  size?: number | null;
  /** Lowercase hex sha256 of the contents; null or absent when not known in advance. */
  sha256?: string | null;
  /** The file may not exist in the repository (e.g. external data of an export not checked here). */
  optional?: boolean;
  /** A rough size for display, when the exact one is not known. */
  approxBytes?: number;
  note?: string;
}

export interface CatalogVariant {
  files: (string | CatalogFileSpec)[];
  approxBytes?: number;
  note?: string;
}

/** A file as the downloader sees it: every field filled in. */
export interface ModelFile extends CacheFileSpec {
  path: string;
  size: number | null;
  sha256: string | null;
  optional: boolean;
}

export interface Catalog {
  version: number;
  models: CatalogEntry[];
  /** Absolute path of the file read ('' for a catalog built in memory). */
  file: string;
}

export class CatalogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogError';
  }
}

/** Raised for a model specification that names neither a usable catalog entry nor a model directory. */
export class ModelSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelSpecError';
  }
}

export const CATALOG_VERSION = 1;
const ROLES: readonly ModelRole[] = ['target', 'drafter', 'both'];
const VERIFY_MODES = ['pinned', 'on-first-download'] as const;
/** The patterns models.schema.json uses too (the catalog test compares them). */
export const PATTERNS = {
  id: String.raw`^[A-Za-z0-9][A-Za-z0-9._-]*$`,
  /** Hugging Face repository ids: "org/name", no "--" or ".." (the cache folder joins the parts with "--"). */
  repo: String.raw`^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`,
  /** A branch, tag or commit; every "/"-separated part starts with a letter or digit (no "." or ".." parts). */
  revision: String.raw`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`,
  variant: String.raw`^[a-z0-9][a-z0-9_]*$`,
  sha256: String.raw`^[0-9a-f]{64}$`,
  /** A relative POSIX path: no empty, "." or ".." parts, no backslash, none of : * ? " < > | or control characters. */
  filePath: String.raw`^(?!(.*/)?\.{1,2}(/|$))[^/\\:*?"<>|\u0000-\u001f]+(/[^/\\:*?"<>|\u0000-\u001f]+)*$`,
} as const;
const ID_PATTERN = new RegExp(PATTERNS.id);
const RE = {
  repo: new RegExp(PATTERNS.repo),
  revision: new RegExp(PATTERNS.revision),
  variant: new RegExp(PATTERNS.variant),
  sha256: new RegExp(PATTERNS.sha256),
  filePath: new RegExp(PATTERNS.filePath),
};
/** The devices deviceVariants may name: the engine's Device values. */
export const CATALOG_DEVICES: readonly Device[] = DEVICES;
const FILE_KEYS = new Set(['path', 'size', 'sha256', 'optional', 'approxBytes', 'note']);
const VARIANT_KEYS = new Set(['files', 'approxBytes', 'note']);

let cachedRoot: string | undefined;

/**
 * The package root: the nearest directory at or above this file whose package.json is named "lockstep"
 * (true for the tsc output in out/src/models and for an esbuild bundle in dist/).
 */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(pkg, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === 'lockstep') {
        cachedRoot = dir;
        return dir;
      }
    } catch {
      // no package.json here, or not JSON: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the lockstep package root above ${__dirname}`);
    dir = parent;
  }
}

export function defaultCatalogFile(): string {
  return path.join(packageRoot(), 'models.json');
}

/** Reads and validates a catalog file (default: models.json at the package root). */
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

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Validates parsed catalog JSON; `file` is used in messages and to resolve `bundled` paths. */
export function validateCatalog(raw: unknown, file = ''): Catalog {
  const where = file ? path.basename(file) : 'catalog';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CatalogError(`${where}: the top level must be an object with "version" and "models"`);
  }
  const top = raw as Record<string, unknown>;
  if (top.version !== CATALOG_VERSION) {
    throw new CatalogError(`${where}: field "version" must be ${CATALOG_VERSION} (got ${describe(top.version)})`);
  }
  if (!Array.isArray(top.models)) {
    throw new CatalogError(`${where}: field "models" must be an array (got ${describe(top.models)})`);
  }
  const seen = new Map<string, number>();
  const models: CatalogEntry[] = top.models.map((item: unknown, index: number) => {
    const label = (id?: unknown) => `${where}: models[${index}]${typeof id === 'string' && ID_PATTERN.test(id) ? ` (id "${id}")` : ''}`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new CatalogError(`${label()}: must be an object (got ${describe(item)})`);
    }
    const e = item as Record<string, unknown>;
    const fail = (field: string, what: string): never => {
      throw new CatalogError(`${label(e.id)}: field "${field}" ${what} (got ${describe(e[field])})`);
    };
    if (typeof e.id !== 'string' || !ID_PATTERN.test(e.id)) {
      fail('id', 'must be a non-empty string of letters, digits, ".", "_" or "-"');
    }
    const id = e.id as string;
    if (seen.has(id)) fail('id', `repeats the id of models[${seen.get(id)}]`);
    seen.set(id, index);
    if (e.name !== undefined && (typeof e.name !== 'string' || e.name === '')) fail('name', 'must be a non-empty string');
    if (typeof e.role !== 'string' || !ROLES.includes(e.role as ModelRole)) fail('role', `must be one of ${ROLES.map((r) => `"${r}"`).join(', ')}`);
    if (typeof e.family !== 'string' || e.family === '') fail('family', 'must be a non-empty string');
    for (const f of ['fim', 'bundled', 'repo', 'commit']) {
      if (e[f] !== undefined && (typeof e[f] !== 'string' || e[f] === '')) fail(f, 'must be a non-empty string');
    }
    if (e.recommendedDrafters !== undefined) {
      const r = e.recommendedDrafters;
      if (!Array.isArray(r) || !r.every((x) => typeof x === 'string' && x !== '')) fail('recommendedDrafters', 'must be an array of catalog ids');
    }
    validateDownloadFields(e, (field, what, value) => {
      throw new CatalogError(`${label(e.id)}: field "${field}" ${what} (got ${describe(value)})`);
    });
    return { ...e, id, name: (e.name as string | undefined) ?? id } as CatalogEntry;
  });
  // Cross-references: recommended drafters must exist, be usable as drafters and share the target's tokenizer family.
  models.forEach((m, index) => {
    for (const d of m.recommendedDrafters ?? []) {
      const other = models.find((x) => x.id === d);
      const at = `${where}: models[${index}] (id "${m.id}"): field "recommendedDrafters"`;
      if (!other) throw new CatalogError(`${at} names "${d}", which is not in the catalog`);
      if (other.role === 'target') throw new CatalogError(`${at} names "${d}", whose role is "target"`);
      if (other.family !== m.family) {
        throw new CatalogError(`${at} names "${d}" of family "${other.family}", not this model's "${m.family}"`);
      }
    }
  });
  return { version: CATALOG_VERSION, models, file };
}

type FailAt = (field: string, what: string, value: unknown) => never;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isByteCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** One file: a path string, or an object with path, size, sha256, optional (and approxBytes, note). */
function validateFileSpec(f: unknown, at: string, fail: FailAt): string {
  if (typeof f === 'string') {
    if (!RE.filePath.test(f)) fail(at, 'must be a relative path inside the repository ("/" separators, no ".." parts)', f);
    return f;
  }
  if (!isPlainObject(f)) fail(at, 'must be a path or an object {path, size, sha256}', f);
  const o = f as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FILE_KEYS.has(k)) fail(`${at}.${k}`, `is not a file field (known: ${[...FILE_KEYS].join(', ')})`, o[k]);
  }
  if (typeof o.path !== 'string' || !RE.filePath.test(o.path)) {
    fail(`${at}.path`, 'must be a relative path inside the repository ("/" separators, no ".." parts)', o.path);
  }
  if (o.size !== undefined && o.size !== null && !isByteCount(o.size)) fail(`${at}.size`, 'must be a byte count (an integer ≥ 0) or null', o.size);
  if (o.sha256 !== undefined && o.sha256 !== null && (typeof o.sha256 !== 'string' || !RE.sha256.test(o.sha256))) {
    fail(`${at}.sha256`, 'must be 64 lowercase hex digits or null (unknown: checked against the Hub on first download)', o.sha256);
  }
  if (o.optional !== undefined && typeof o.optional !== 'boolean') fail(`${at}.optional`, 'must be true or false', o.optional);
  if (o.approxBytes !== undefined && !isByteCount(o.approxBytes)) fail(`${at}.approxBytes`, 'must be a byte count (an integer ≥ 0)', o.approxBytes);
  if (o.note !== undefined && typeof o.note !== 'string') fail(`${at}.note`, 'must be a string', o.note);
  return o.path as string;
}

function validateFileList(list: unknown, at: string, fail: FailAt, requireOne: boolean): string[] {
  if (!Array.isArray(list) || (requireOne && list.length === 0)) {
    fail(at, requireOne ? 'must be a non-empty array of files' : 'must be an array of files', list);
  }
  return (list as unknown[]).map((f, i) => validateFileSpec(f, `${at}[${i}]`, fail));
}

/** The fields of a downloadable entry (repo, commit, files, variants, defaultVariant, verify). */
function validateDownloadFields(e: Record<string, unknown>, fail: FailAt): void {
  if (e.repo !== undefined && !RE.repo.test(e.repo as string)) {
    fail('repo', 'must be a Hugging Face repository id "org/name" (letters, digits, ".", "_", "-"; no "--" or "..")', e.repo);
  }
  if (e.commit !== undefined && !RE.revision.test(e.commit as string)) {
    fail('commit', 'must be a 40-hex commit or a branch/tag name such as "main"', e.commit);
  }
  if (e.verify !== undefined && !(VERIFY_MODES as readonly unknown[]).includes(e.verify)) {
    fail('verify', `must be one of ${VERIFY_MODES.map((v) => `"${v}"`).join(', ')}`, e.verify);
  }
  const common = e.files === undefined ? [] : validateFileList(e.files, 'files', fail, false);
  const seenCommon = new Set<string>();
  for (const p of common) {
    if (seenCommon.has(p)) fail('files', `lists "${p}" twice`, e.files);
    seenCommon.add(p);
  }
  let variantNames: string[] = [];
  if (e.variants !== undefined) {
    if (!isPlainObject(e.variants) || Object.keys(e.variants).length === 0) {
      fail('variants', 'must be an object of variants, e.g. {"q4f16": {"files": [...]}}', e.variants);
    }
    const variants = e.variants as Record<string, unknown>;
    variantNames = Object.keys(variants);
    for (const name of variantNames) {
      const at = `variants.${name}`;
      if (!RE.variant.test(name)) fail(at, 'is not a variant name (lowercase letters, digits, "_", e.g. fp16, q4f16, int8)', name);
      const v = variants[name];
      if (!isPlainObject(v)) fail(at, 'must be an object {files: [...]}', v);
      const vo = v as Record<string, unknown>;
      for (const k of Object.keys(vo)) {
        if (!VARIANT_KEYS.has(k)) fail(`${at}.${k}`, `is not a variant field (known: ${[...VARIANT_KEYS].join(', ')})`, vo[k]);
      }
      const own = validateFileList(vo.files, `${at}.files`, fail, true);
      if (vo.approxBytes !== undefined && !isByteCount(vo.approxBytes)) fail(`${at}.approxBytes`, 'must be a byte count (an integer ≥ 0)', vo.approxBytes);
      if (vo.note !== undefined && typeof vo.note !== 'string') fail(`${at}.note`, 'must be a string', vo.note);
      const seen = new Set<string>();
      for (const p of [...common, ...own]) {
        if (seen.has(p)) fail(`${at}.files`, `lists "${p}" twice (with "files")`, vo.files);
        seen.add(p);
      }
    }
  }
  if (e.defaultVariant !== undefined) {
    if (typeof e.defaultVariant !== 'string' || !RE.variant.test(e.defaultVariant)) fail('defaultVariant', 'must be a variant name', e.defaultVariant);
    if (!variantNames.includes(e.defaultVariant as string)) {
      fail('defaultVariant', `must name one of the variants (${variantNames.join(', ') || 'none given'})`, e.defaultVariant);
    }
  }
  validateDeviceVariants(e, variantNames, fail);
  if (e.bundled === undefined && e.repo === undefined) {
    fail('bundled', 'or "repo" must be given: a directory shipped with Lockstep, or a Hugging Face repository', e.bundled);
  }
  if (e.repo !== undefined) {
    if (e.commit === undefined) fail('commit', 'must be given with "repo": a 40-hex commit, or "main" (resolved and pinned on first download)', e.commit);
    if (e.files === undefined && e.variants === undefined) fail('files', 'or "variants" must list the files to download', e.files);
  }
  if (e.verify === 'pinned') {
    // "pinned" promises that nothing is left to the first download.
    const all = [...((e.files as unknown[] | undefined) ?? []), ...Object.values((e.variants as Record<string, CatalogVariant> | undefined) ?? {}).flatMap((v) => v.files)];
    const loose = all.find((f) => typeof f === 'string' || f === null || typeof f !== 'object' || (f as CatalogFileSpec).size == null || (f as CatalogFileSpec).sha256 == null);
    if (!/^[0-9a-f]{40}$/.test(String(e.commit))) {
      fail('verify', 'is "pinned" but the commit is not a 40-hex commit; pin it, or use "on-first-download"', e.verify);
    }
    if (loose !== undefined) {
      const p = typeof loose === 'string' ? loose : (loose as CatalogFileSpec).path;
      fail('verify', `is "pinned" but ${describe(p)} has no size or sha256; pin them, or use "on-first-download"`, e.verify);
    }
  }
}

/** deviceVariants: an object from device names to variants of this entry (so only with "variants"). */
function validateDeviceVariants(e: Record<string, unknown>, variantNames: string[], fail: FailAt): void {
  const dv = e.deviceVariants;
  if (dv === undefined) return;
  const example = 'e.g. {"cpu": "q4", "webgpu": "q4f16"}';
  if (!isPlainObject(dv) || Object.keys(dv).length === 0) fail('deviceVariants', `must be an object from device names to variants, ${example}`, dv);
  if (e.variants === undefined) fail('deviceVariants', 'needs "variants": it names the variant to use on each device', dv);
  for (const [device, variant] of Object.entries(dv as Record<string, unknown>)) {
    const at = `deviceVariants.${device}`;
    if (!(CATALOG_DEVICES as readonly string[]).includes(device)) fail(at, `is not a device (known: ${CATALOG_DEVICES.join(', ')})`, device);
    if (typeof variant !== 'string' || !RE.variant.test(variant)) fail(at, 'must be a variant name', variant);
    if (!variantNames.includes(variant as string)) fail(at, `must name one of the variants (${variantNames.join(', ')})`, variant);
  }
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
  const order = first === undefined ? [undefined] : [first, ...variantNames(entry).filter((v) => v !== first)];
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

export function findEntry(catalog: Catalog, id: string): CatalogEntry | undefined {
  return catalog.models.find((m) => m.id === id);
}

/** Where a catalog entry's files are: its bundled directory, or undefined when it has none (not downloaded). */
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
