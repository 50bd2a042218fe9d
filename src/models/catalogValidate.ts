/**
 * Validation of the model catalog (models.json), one entry at a time.
 *
 * A catalog that is not an object {version: 1, models: [...]} cannot be used at all (CatalogError). Otherwise every
 * entry is checked on its own: an entry with a problem (a field of the wrong type, a missing field, a repeated id,
 * defaultVariant or deviceVariants naming a variant it does not have, a `bundled` directory outside the models
 * folder, a file path that leaves the repository …) is left out, with ONE warning naming the entry (index and id)
 * and every field at fault; the other entries load. A recommended drafter that is not a usable drafter of the same
 * family is dropped from the list with a warning, and the entry is kept.
 *
 * Nothing a catalog says can make Lockstep read or write outside its folders: `bundled` must resolve (symbolic links
 * followed) to a directory inside the models/ folder next to the catalog file; file paths of downloadable entries
 * are relative POSIX paths without "." or ".." parts (nor parts ending in "." or " ", which Windows drops) and
 * land inside the repository's snapshot in the cache; `repo` and `commit` cannot contain ".." parts either.
 *
 * Fields the loader does not know are kept as they are, so a newer catalog still loads in an older build.
 * models.schema.json describes the per-field rules for editors (test/models/catalog-validation.test.ts checks that the two
 * agree); the rules that need more than one entry or field (unique ids, recommended drafters, defaultVariant and
 * deviceVariants among the variants, no path listed twice) and the models-folder rule for `bundled` are checked here
 * only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEVICES, type Device } from '../engine/runtime/device';
import {
  CATALOG_VERSION, Catalog, CatalogEntry, CatalogError, CatalogFileSpec, CatalogVariant, ModelRole,
} from './catalogTypes';
import { packageRoot } from './packageRoot';

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
  /** A VS Code language id ("javascript", "typescriptreact", "c", "cpp", "objective-c" …). */
  language: String.raw`^[a-z0-9][a-z0-9._+-]*$`,
  sha256: String.raw`^[0-9a-f]{64}$`,
  /**
   * A relative POSIX path: no empty parts, no part ending in "." or " " (so no "." or ".." parts, nor names Windows
   * would shorten), no backslash, none of : * ? " < > | or control characters.
   */
  filePath: String.raw`^(?!.*[. ](/|$))[^/\\:*?"<>|\u0000-\u001f]+(/[^/\\:*?"<>|\u0000-\u001f]+)*$`,
  /** A bundled directory: "models/" and a relative path as above (the loader also resolves it, links followed). */
  bundled: String.raw`^models/(?!.*[. ](/|$))[^/\\:*?"<>|\u0000-\u001f]+(/[^/\\:*?"<>|\u0000-\u001f]+)*$`,
} as const;
const ID_PATTERN = new RegExp(PATTERNS.id);
const RE = {
  repo: new RegExp(PATTERNS.repo),
  revision: new RegExp(PATTERNS.revision),
  variant: new RegExp(PATTERNS.variant),
  language: new RegExp(PATTERNS.language),
  sha256: new RegExp(PATTERNS.sha256),
  filePath: new RegExp(PATTERNS.filePath),
  bundled: new RegExp(PATTERNS.bundled),
};
/** The devices deviceVariants may name: the engine's Device values. */
export const CATALOG_DEVICES: readonly Device[] = DEVICES;
const FILE_KEYS = new Set(['path', 'size', 'sha256', 'optional', 'approxBytes', 'note']);
const VARIANT_KEYS = new Set(['files', 'approxBytes', 'note', 'exact', 'inexact']);

/** The folder `bundled` directories must be in: models/ next to the catalog file (the package root's without a file). */
export function modelsFolder(catalogFile: string): string {
  return path.join(catalogFile ? path.dirname(path.resolve(catalogFile)) : packageRoot(), 'models');
}

/** True when `child` is strictly inside `parent` (both absolute; not equal, not above, not on another drive). */
function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** The real path of `p` with symbolic links resolved as far as it exists (the part that does not exist is appended). */
function realPathSoFar(p: string): string | undefined {
  let rest = '';
  let at = p;
  for (;;) {
    try {
      const real = fs.realpathSync.native(at);
      return rest === '' ? real : path.join(real, rest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
    }
    const parent = path.dirname(at);
    if (parent === at) return undefined;
    rest = rest === '' ? path.basename(at) : path.join(path.basename(at), rest);
    at = parent;
  }
}

/**
 * Why a `bundled` value does not name a directory inside `modelsDir` (undefined when it does): an absolute path,
 * ".." parts that climb out, or a symbolic link (anywhere along the existing part of the path) that leads out.
 * `base` is the directory `bundled` is relative to (the catalog file's).
 */
export function bundledPathProblem(bundled: string, base: string, modelsDir = path.join(base, 'models')): string | undefined {
  const folder = `the models folder ${modelsDir}`;
  if (path.isAbsolute(bundled) || path.posix.isAbsolute(bundled) || path.win32.isAbsolute(bundled)) {
    return `must be a directory inside ${folder}, relative to the catalog (e.g. "models/<name>"), not an absolute path`;
  }
  const dir = path.resolve(base, bundled);
  if (!isInside(modelsDir, dir)) return `must be a directory inside ${folder} (e.g. "models/<name>"); it resolves to ${dir}`;
  const realModels = realPathSoFar(modelsDir);
  const realDir = realPathSoFar(dir);
  if (realModels === undefined || realDir === undefined) return `cannot be checked: the real path of ${dir} cannot be read`;
  if (!isInside(realModels, realDir)) return `must stay inside ${folder}, but a symbolic link leads it to ${realDir}`;
  return undefined;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One problem of one entry; validateCatalog collects them per entry. */
class EntryProblem extends Error {}

type FailAt = (field: string, what: string, value: unknown) => never;

const fail: FailAt = (field, what, value) => {
  throw new EntryProblem(`field "${field}" ${what} (got ${describe(value)})`);
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isByteCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Validates parsed catalog JSON; `file` names the catalog in messages and is where `bundled` paths are relative to
 * (the package root when ''). Throws CatalogError only for a catalog that cannot be used at all; bad entries are
 * left out and described in `warnings`.
 */
export function validateCatalog(raw: unknown, file = ''): Catalog {
  const where = file ? path.basename(file) : 'catalog';
  if (!isPlainObject(raw)) {
    throw new CatalogError(`${where}: the top level must be an object with "version" and "models"`);
  }
  if (raw.version !== CATALOG_VERSION) {
    throw new CatalogError(`${where}: field "version" must be ${CATALOG_VERSION} (got ${describe(raw.version)})`);
  }
  if (!Array.isArray(raw.models)) {
    throw new CatalogError(`${where}: field "models" must be an array (got ${describe(raw.models)})`);
  }
  const base = file ? path.dirname(path.resolve(file)) : packageRoot();
  const modelsDir = modelsFolder(file);
  const label = (index: number, id?: unknown) => `${where}: models[${index}]${typeof id === 'string' && ID_PATTERN.test(id) ? ` (id "${id}")` : ''}`;
  const warnings: { index: number; text: string }[] = [];
  const firstIndex = new Map<string, number>();
  const kept: { entry: CatalogEntry; index: number }[] = [];
  const skipped = new Set<string>();
  (raw.models as unknown[]).forEach((item, index) => {
    const problems = entryProblems(item, index, firstIndex, base, modelsDir);
    if (problems.length === 0) {
      const e = item as Record<string, unknown>;
      const id = e.id as string;
      kept.push({ entry: { ...e, id, name: (e.name as string | undefined) ?? id } as CatalogEntry, index });
      return;
    }
    const id = isPlainObject(item) ? item.id : undefined;
    if (typeof id === 'string') skipped.add(id);
    warnings.push({ index, text: `${label(index, id)}: ${problems.join('; ')} — entry skipped` });
  });
  // Recommended drafters must be loaded entries that can draft and share the target's tokenizer family; others are
  // dropped from the list (the model itself stays).
  for (const { entry: m, index } of kept) {
    if (m.recommendedDrafters === undefined) continue;
    const dropped: string[] = [];
    const usable = m.recommendedDrafters.filter((d) => {
      const other = kept.find((k) => k.entry.id === d)?.entry;
      let why: string | undefined;
      if (!other) why = skipped.has(d) ? `names "${d}", which is skipped (see its warning)` : `names "${d}", which is not in the catalog`;
      else if (other.role === 'target') why = `names "${d}", whose role is "target"`;
      else if (other.family !== m.family) why = `names "${d}" of family "${other.family}", not this model's "${m.family}"`;
      if (why !== undefined) dropped.push(why);
      return why === undefined;
    });
    if (dropped.length === 0) continue;
    m.recommendedDrafters = usable;
    const them = dropped.length === 1 ? 'that drafter is' : 'those drafters are';
    warnings.push({ index, text: `${label(index, m.id)}: field "recommendedDrafters" ${dropped.join('; ')} — ${them} dropped, the model is kept` });
  }
  warnings.sort((a, b) => a.index - b.index);
  return { version: CATALOG_VERSION, models: kept.map((k) => k.entry), file, warnings: warnings.map((w) => w.text) };
}

/** Every problem of one entry (empty when it is good); `firstIndex` records the ids seen so far. */
function entryProblems(item: unknown, index: number, firstIndex: Map<string, number>, base: string, modelsDir: string): string[] {
  if (!isPlainObject(item)) return [`must be an object (got ${describe(item)})`];
  const e = item;
  const problems: string[] = [];
  /** Runs one check; false when it found a problem (recorded). Checks that depend on another run only when it passed. */
  const check = (f: () => void): boolean => {
    try {
      f();
      return true;
    } catch (err) {
      if (!(err instanceof EntryProblem)) throw err;
      problems.push(err.message);
      return false;
    }
  };
  const nonEmpty = (f: string) => () => {
    if (e[f] !== undefined && (typeof e[f] !== 'string' || e[f] === '')) fail(f, 'must be a non-empty string', e[f]);
  };
  if (check(() => {
    if (typeof e.id !== 'string' || !ID_PATTERN.test(e.id)) fail('id', 'must be a non-empty string of letters, digits, ".", "_" or "-"', e.id);
  })) {
    const id = e.id as string;
    const first = firstIndex.get(id);
    if (first === undefined) firstIndex.set(id, index);
    else check(() => fail('id', `repeats the id of models[${first}]`, id));
  }
  check(() => {
    if (e.name !== undefined && (typeof e.name !== 'string' || e.name === '')) fail('name', 'must be a non-empty string', e.name);
  });
  check(() => {
    if (typeof e.role !== 'string' || !ROLES.includes(e.role as ModelRole)) fail('role', `must be one of ${ROLES.map((r) => `"${r}"`).join(', ')}`, e.role);
  });
  check(() => {
    if (typeof e.family !== 'string' || e.family === '') fail('family', 'must be a non-empty string', e.family);
  });
  check(nonEmpty('fim'));
  if (check(nonEmpty('bundled')) && typeof e.bundled === 'string') {
    const b = e.bundled;
    check(() => {
      // Where it leads (outside the folder, through a link) says more than the spelling, so that comes first.
      const problem = bundledPathProblem(b, base, modelsDir);
      if (problem !== undefined) fail('bundled', problem, b);
      if (!RE.bundled.test(b)) fail('bundled', 'must be written "models/<name>" ("/" separators, no "." or ".." parts, no part ending in "." or " ")', b);
    });
  }
  if (check(nonEmpty('repo')) && e.repo !== undefined) {
    check(() => {
      if (!RE.repo.test(e.repo as string)) fail('repo', 'must be a Hugging Face repository id "org/name" (letters, digits, ".", "_", "-"; no "--" or "..")', e.repo);
    });
  }
  const commitOk = check(nonEmpty('commit')) && check(() => {
    if (e.commit !== undefined && !RE.revision.test(e.commit as string)) fail('commit', 'must be a 40-hex commit or a branch/tag name such as "main"', e.commit);
  });
  check(() => {
    const r = e.recommendedDrafters;
    if (r !== undefined && (!Array.isArray(r) || !r.every((x) => typeof x === 'string' && x !== ''))) fail('recommendedDrafters', 'must be an array of catalog ids', r);
  });
  check(() => {
    if (e.demo !== undefined && typeof e.demo !== 'boolean') fail('demo', 'must be true or false', e.demo);
  });
  check(() => {
    const l = e.languages;
    if (l !== undefined && (!Array.isArray(l) || l.length === 0 || !l.every((x) => typeof x === 'string' && RE.language.test(x)))) {
      fail('languages', 'must be a non-empty array of VS Code language ids (e.g. "javascript")', l);
    }
  });
  check(() => {
    if (e.verify !== undefined && !(VERIFY_MODES as readonly unknown[]).includes(e.verify)) {
      fail('verify', `must be one of ${VERIFY_MODES.map((v) => `"${v}"`).join(', ')}`, e.verify);
    }
  });
  // Download fields: the common files, then the variants (each with the common files: no path twice).
  let common: string[] = [];
  const filesOk = check(() => {
    if (e.files === undefined) return;
    common = validateFileList(e.files, 'files');
    const seen = new Set<string>();
    for (const p of common) {
      if (seen.has(p)) fail('files', `lists "${p}" twice`, e.files);
      seen.add(p);
    }
  });
  let variantNames: string[] = [];
  const variantsOk = check(() => {
    if (e.variants === undefined) return;
    variantNames = validateVariants(e.variants, filesOk ? common : []);
  });
  if (variantsOk) {
    check(() => {
      if (e.defaultVariant === undefined) return;
      if (typeof e.defaultVariant !== 'string' || !RE.variant.test(e.defaultVariant)) fail('defaultVariant', 'must be a variant name', e.defaultVariant);
      if (!variantNames.includes(e.defaultVariant as string)) {
        fail('defaultVariant', `must name one of the variants (${variantNames.join(', ') || 'none given'})`, e.defaultVariant);
      }
      if (neverExact(e, e.defaultVariant as string)) fail('defaultVariant', 'must not be a variant marked "exact": false', e.defaultVariant);
    });
    check(() => validateDeviceVariants(e, variantNames));
  }
  check(() => {
    if (e.bundled === undefined && e.repo === undefined) {
      fail('bundled', 'or "repo" must be given: a directory shipped with Lockstep, or a Hugging Face repository', e.bundled);
    }
  });
  if (e.repo !== undefined) {
    check(() => {
      if (e.commit === undefined) fail('commit', 'must be given with "repo": a 40-hex commit, or "main" (resolved and pinned on first download)', e.commit);
    });
    check(() => {
      if (e.files === undefined && e.variants === undefined) fail('files', 'or "variants" must list the files to download', e.files);
    });
  }
  if (e.verify === 'pinned' && filesOk && variantsOk && commitOk) {
    check(() => {
      // "pinned" promises that nothing is left to the first download.
      const all = [...((e.files as unknown[] | undefined) ?? []), ...Object.values((e.variants as Record<string, CatalogVariant> | undefined) ?? {}).flatMap((v) => v.files)];
      const loose = all.find((f) => typeof f === 'string' || (f as CatalogFileSpec).size == null || (f as CatalogFileSpec).sha256 == null);
      if (!/^[0-9a-f]{40}$/.test(String(e.commit))) {
        fail('verify', 'is "pinned" but the commit is not a 40-hex commit; pin it, or use "on-first-download"', e.verify);
      }
      if (loose !== undefined) {
        const p = typeof loose === 'string' ? loose : (loose as CatalogFileSpec).path;
        fail('verify', `is "pinned" but ${describe(p)} has no size or sha256; pin them, or use "on-first-download"`, e.verify);
      }
    });
  }
  return problems;
}

/** One file: a path string, or an object with path, size, sha256, optional (and approxBytes, note). */
function validateFileSpec(f: unknown, at: string): string {
  const where = 'must be a relative path inside the repository ("/" separators, no "." or ".." parts, no part ending in "." or " ")';
  if (typeof f === 'string') {
    if (!RE.filePath.test(f)) fail(at, where, f);
    return f;
  }
  if (!isPlainObject(f)) fail(at, 'must be a path or an object {path, size, sha256}', f);
  const o = f as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FILE_KEYS.has(k)) fail(`${at}.${k}`, `is not a file field (known: ${[...FILE_KEYS].join(', ')})`, o[k]);
  }
  if (typeof o.path !== 'string' || !RE.filePath.test(o.path)) fail(`${at}.path`, where, o.path);
  if (o.size !== undefined && o.size !== null && !isByteCount(o.size)) fail(`${at}.size`, 'must be a byte count (an integer ≥ 0) or null', o.size);
  if (o.sha256 !== undefined && o.sha256 !== null && (typeof o.sha256 !== 'string' || !RE.sha256.test(o.sha256))) {
    fail(`${at}.sha256`, 'must be 64 lowercase hex digits or null (unknown: checked against the Hub on first download)', o.sha256);
  }
  if (o.optional !== undefined && typeof o.optional !== 'boolean') fail(`${at}.optional`, 'must be true or false', o.optional);
  if (o.approxBytes !== undefined && !isByteCount(o.approxBytes)) fail(`${at}.approxBytes`, 'must be a byte count (an integer ≥ 0)', o.approxBytes);
  if (o.note !== undefined && typeof o.note !== 'string') fail(`${at}.note`, 'must be a string', o.note);
  return o.path as string;
}

function validateFileList(list: unknown, at: string, requireOne = false): string[] {
  if (!Array.isArray(list) || (requireOne && list.length === 0)) {
    fail(at, requireOne ? 'must be a non-empty array of files' : 'must be an array of files', list);
  }
  return (list as unknown[]).map((f, i) => validateFileSpec(f, `${at}[${i}]`));
}

/** `variants`: an object of named variants, each with its own files (none of them also among `common`). Returns the names. */
function validateVariants(value: unknown, common: string[]): string[] {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    fail('variants', 'must be an object of variants, e.g. {"q4f16": {"files": [...]}}', value);
  }
  const variants = value as Record<string, unknown>;
  const names = Object.keys(variants);
  for (const name of names) {
    const at = `variants.${name}`;
    if (!RE.variant.test(name)) fail(at, 'is not a variant name (lowercase letters, digits, "_", e.g. fp16, q4f16, int8)', name);
    const v = variants[name];
    if (!isPlainObject(v)) fail(at, 'must be an object {files: [...]}', v);
    const vo = v as Record<string, unknown>;
    for (const k of Object.keys(vo)) {
      if (!VARIANT_KEYS.has(k)) fail(`${at}.${k}`, `is not a variant field (known: ${[...VARIANT_KEYS].join(', ')})`, vo[k]);
    }
    const own = validateFileList(vo.files, `${at}.files`, true);
    if (vo.approxBytes !== undefined && !isByteCount(vo.approxBytes)) fail(`${at}.approxBytes`, 'must be a byte count (an integer ≥ 0)', vo.approxBytes);
    if (vo.note !== undefined && typeof vo.note !== 'string') fail(`${at}.note`, 'must be a string', vo.note);
    if (vo.exact !== undefined && vo.exact !== false) fail(`${at}.exact`, 'can only be false (a variant that can never be exact; others are probed)', vo.exact);
    if (vo.exact === false && (typeof vo.inexact !== 'string' || vo.inexact.trim() === '')) fail(`${at}.inexact`, 'must say why the variant cannot be exact', vo.inexact);
    if (vo.exact === undefined && vo.inexact !== undefined) fail(`${at}.inexact`, 'goes with "exact": false', vo.inexact);
    const seen = new Set<string>();
    for (const p of [...common, ...own]) {
      if (seen.has(p)) fail(`${at}.files`, `lists "${p}" twice (with "files")`, vo.files);
      seen.add(p);
    }
  }
  return names;
}

/** deviceVariants: an object from device names to variants of this entry (so only with "variants"). */
function validateDeviceVariants(e: Record<string, unknown>, variantNames: string[]): void {
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
    if (neverExact(e, variant as string)) fail(at, 'must not be a variant marked "exact": false (it is never chosen automatically)', variant);
  }
}

function neverExact(e: Record<string, unknown>, variant: string): boolean {
  const v = (e.variants as Record<string, { exact?: unknown }> | undefined)?.[variant];
  return v?.exact === false;
}
