/**
 * From settings to an engine: which target directory, which drafters to load, what to call the drafter in a
 * request; and the choices the Choose Target / Choose Drafter pickers offer. No `vscode` import.
 *
 * A drafter that cannot draft for the target (missing, not downloaded, another tokenizer family) never reaches the
 * engine — the engine would refuse it and fail to start — it is reported and replaced by the automatic choice.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DrafterSpec, EngineOptions } from '../engine/process/engine';
import {
  DEFAULT_DRAFTER, builtinDrafterSpecs, describeDrafter, drafterKind, drafterModel, formatDrafterSpec, modelDrafterSpecs, parseDrafterSpec,
  pickerKinds, withDrafterModel,
} from '../engine/decode/drafters/drafterSpec';
import {
  Catalog, CatalogEntry, DeviceVariants, ModelSpecError, downloadedDeviceVariants, entryForDir, entryStatus, findEntry,
  isDownloadable, missingDeviceVariants, resolveModel,
} from '../models/catalog';
import { hasGpuDeviceNode, likelyDevice } from '../engine/runtime/device';
import { onnxFileFor, onnxFilesIn, variantOfFile } from '../engine/runtime/modelDir';
import type { LockstepSettings } from './settings';

export interface ModelEnv {
  catalog: Catalog;
  /** Models directory in the Hugging Face cache layout (downloads). */
  cacheDir: string;
  /** Relative model paths in settings are taken from here (the first workspace folder, else the home directory). */
  baseDir: string;
}

/** `~` and `~/x` → the home directory; other paths unchanged. */
export function expandHome(p: string): string {
  if (p === '~') return os.homedir();
  if (p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(2));
  return p;
}

export interface ResolvedTarget {
  spec: string;
  dir: string;
  entry?: CatalogEntry;
  variant?: string;
  /** The variant per device, where the catalog suggests one and it is downloaded in `dir` (empty otherwise). */
  variants: DeviceVariants;
  /** The catalog id, or the directory's name. */
  label: string;
}

/** The entry's per-device variants that are complete in `dir` (none for a model outside the catalog). */
function variantsIn(entry: CatalogEntry | undefined, dir: string, env: ModelEnv): DeviceVariants {
  return entry === undefined ? {} : downloadedDeviceVariants(entry, dir, { cacheDir: env.cacheDir });
}

/** The target setting → its directory (throws ModelSpecError with a message for the user when it cannot be used). */
export function resolveTarget(spec: string, env: ModelEnv): ResolvedTarget {
  const r = resolveModel(expandHome(spec), env.catalog, env.baseDir, { cacheDir: env.cacheDir });
  const entry = r.entry ?? entryForDir(env.catalog, r.dir, { cacheDir: env.cacheDir });
  return { spec, dir: r.dir, entry, variant: r.variant, variants: variantsIn(entry, r.dir, env), label: entry?.id ?? path.basename(r.dir) };
}

/** The parts of a tokenizer that decide token ids; two models can share a draft only when these are equal. */
export function tokenizerSignature(dir: string): string | undefined {
  try {
    const t = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as {
      model?: { vocab?: unknown; merges?: unknown };
      added_tokens?: { id?: unknown; content?: unknown }[];
    };
    const added = (t.added_tokens ?? []).map((a) => [a.id, a.content]);
    return JSON.stringify([t.model?.vocab ?? null, added]);
  } catch {
    return undefined;
  }
}

export interface DrafterCheck {
  ok: boolean;
  dir?: string;
  entry?: CatalogEntry;
  variant?: string;
  /** Per-device variants downloaded in `dir` (when ok). */
  variants?: DeviceVariants;
  reason?: string;
}

/** Whether a model (catalog id or directory) can draft for the target: it resolves and shares the target's vocabulary. */
export function checkDrafterModel(spec: string, target: ResolvedTarget, env: ModelEnv): DrafterCheck {
  let dir: string;
  let entry: CatalogEntry | undefined;
  let variant: string | undefined;
  try {
    const r = resolveModel(expandHome(spec), env.catalog, env.baseDir, { cacheDir: env.cacheDir });
    dir = r.dir;
    entry = r.entry ?? entryForDir(env.catalog, r.dir, { cacheDir: env.cacheDir });
    variant = r.variant;
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (path.resolve(dir) === path.resolve(target.dir)) {
    return { ok: false, dir, entry, reason: `'${spec}' is the target itself` };
  }
  if (entry && target.entry) {
    if (entry.family !== target.entry.family) {
      return {
        ok: false, dir, entry,
        reason: `drafter '${entry.id}' (tokenizer family ${entry.family}) cannot draft for '${target.entry.id}' (family ${target.entry.family})`,
      };
    }
    return { ok: true, dir, entry, variant, variants: variantsIn(entry, dir, env) };
  }
  const a = tokenizerSignature(dir);
  const b = tokenizerSignature(target.dir);
  if (a === undefined || b === undefined || a !== b) {
    return { ok: false, dir, entry, reason: `'${spec}' does not share the target's tokenizer (${target.label})` };
  }
  return { ok: true, dir, entry, variant, variants: variantsIn(entry, dir, env) };
}

export interface AvailableDrafter {
  id: string;
  entry: CatalogEntry;
  dir: string;
  variant?: string;
  variants: DeviceVariants;
}

/** The drafter models of the target's family that are available now (bundled or downloaded), recommended first. */
export function availableDrafters(target: ResolvedTarget, env: ModelEnv): AvailableDrafter[] {
  const fam = target.entry?.family;
  const rec = target.entry?.recommendedDrafters ?? [];
  const out: AvailableDrafter[] = [];
  let targetSig: string | undefined;
  for (const m of env.catalog.models) {
    if (m.role === 'target' || m.id === target.entry?.id) continue;
    if (fam !== undefined && m.family !== fam) continue;
    const st = entryStatus(env.catalog, m, { cacheDir: env.cacheDir });
    if (!st.available || st.dir === undefined) continue;
    // A target outside the catalog: a catalog drafter qualifies when its tokenizer is the target's.
    if (fam === undefined) {
      targetSig ??= tokenizerSignature(target.dir) ?? '';
      if (tokenizerSignature(st.dir) !== targetSig) continue;
    }
    out.push({ id: m.id, entry: m, dir: st.dir, variant: st.variant, variants: variantsIn(m, st.dir, env) });
  }
  const rank = (id: string): number => {
    const i = rec.indexOf(id);
    return i === -1 ? rec.length : i;
  };
  return out.sort((x, y) => rank(x.id) - rank(y.id) || x.id.localeCompare(y.id));
}

export interface ResolvedDrafter {
  /** What the setting said. */
  spec: string;
  /** The name a CompletionRequest gives the engine. */
  request: string;
  /** Short name for the status bar. */
  label: string;
  /** The model to load, when the drafter uses one. */
  load?: DrafterSpec;
  /** Why the setting was not used as written (the drafter actually used is the automatic one). */
  problem?: string;
  /** For the log: what `auto` goes without (a recommended drafter model that is not downloaded). */
  detail?: string;
}

/**
 * The automatic drafter: the engine's `auto` (drafters/auto.ts), which drafts each round with whichever loaded drafter
 * its measurements say pays — prompt lookup, and the target's first recommended available drafter model (loaded here),
 * alone or after a lookup miss — or with none.
 */
export function autoDrafter(target: ResolvedTarget, env: ModelEnv): ResolvedDrafter {
  const first = availableDrafters(target, env)[0];
  if (first && (target.entry?.recommendedDrafters ?? []).includes(first.id)) {
    return { spec: DEFAULT_DRAFTER, request: DEFAULT_DRAFTER, label: `${DEFAULT_DRAFTER} (${first.id})`, load: drafterLoad(first.id, first.dir, first.variant, first.variants) };
  }
  const missing = target.entry?.recommendedDrafters?.[0];
  const detail = missing === undefined ? undefined
    : `drafter auto: prompt lookup only — ${target.label}'s recommended drafter model ${missing} is not downloaded (Lockstep: Download Models)`;
  return { spec: DEFAULT_DRAFTER, request: DEFAULT_DRAFTER, label: `${DEFAULT_DRAFTER} (prompt-lookup)`, ...(detail === undefined ? {} : { detail }) };
}

/**
 * What the engine loads for a model drafter: its own ONNX variant for a downloaded model that has variants, and the
 * downloaded per-device ones (absent when none, so that plans of bundled models stay as they were).
 */
function drafterLoad(name: string, dir: string, variant: string | undefined, variants: DeviceVariants = {}): DrafterSpec {
  const spec: DrafterSpec = variant === undefined ? { name, dir } : { name, dir, variant };
  if (Object.keys(variants).length > 0) spec.variants = variants;
  return spec;
}

/** The engine's name for a model drafter: its catalog id, or the absolute directory for a model outside the catalog. */
function engineName(check: DrafterCheck): string {
  return check.entry?.id ?? path.resolve(check.dir!);
}

/** A drafter setting → what to load and what to request. */
export function resolveDrafter(spec: string, target: ResolvedTarget, env: ModelEnv): ResolvedDrafter {
  // An empty setting is the default; a kind that loads the recommended model is `auto`, planned by autoDrafter.
  const parsed = parseDrafterSpec(spec === '' ? DEFAULT_DRAFTER : spec);
  if (drafterKind(parsed).loadsRecommended) return autoDrafter(target, env);
  const model = drafterModel(parsed);
  if (model === undefined) return { spec, request: spec, label: spec };
  const fallback = (why: string): ResolvedDrafter => {
    const auto = autoDrafter(target, env);
    return { ...auto, spec, problem: `drafter "${spec}" cannot be used: ${why}; using ${auto.label} instead` };
  };
  if (model === '') return fallback(`nothing follows "${spec}"`);
  const check = checkDrafterModel(model, target, env);
  if (!check.ok) return fallback(check.reason ?? 'unknown reason');
  const name = engineName(check);
  const short = check.entry?.id ?? path.basename(check.dir!);
  return {
    spec,
    request: formatDrafterSpec(withDrafterModel(parsed, name)),
    label: formatDrafterSpec(withDrafterModel(parsed, short)),
    load: drafterLoad(name, check.dir!, check.variant, check.variants),
  };
}

export interface EnginePlan {
  /** Equal keys = the same loaded engine (no restart needed). */
  key: string;
  options: EngineOptions;
  target: ResolvedTarget;
  drafter: ResolvedDrafter;
  /** Things to tell the user or the log (drafter fallback). */
  notes: string[];
}

/**
 * Settings → engine options. `extraDrafters` are models to load besides the chosen one (Verify Drafter Invariance
 * loads every available drafter; a running engine keeps them). Throws ModelSpecError when the target cannot be used.
 */
export function planEngine(settings: LockstepSettings, env: ModelEnv, extraDrafters: DrafterSpec[] = []): EnginePlan {
  const notes: string[] = [];
  const chosen = chooseTargetVariant(settings, env, notes);
  const target = chosen.target;
  const drafter = resolveDrafter(settings.drafter, target, env);
  const loads = new Map<string, DrafterSpec>();
  const dv = settings.drafterVariant;
  if (drafter.load) loads.set(drafter.load.name, withDrafterVariant(drafter.load, dv, notes));
  for (const d of extraDrafters) if (!loads.has(d.name)) loads.set(d.name, withDrafterVariant(d, dv, notes));
  const drafters = [...loads.values()].sort((a, b) => a.name.localeCompare(b.name));
  // The engine chooses the device when it loads (auto tries the GPU providers, then the CPU) and takes, on the device
  // it ends up on, that device's variant from `variants`, else `variant`.
  const options: EngineOptions = {
    target: target.dir,
    drafters,
    threads: settings.threads,
    fim: typeof target.entry?.fim === 'string' ? target.entry.fim : undefined,
    variant: chosen.variant,
    device: settings.device,
  };
  if (Object.keys(chosen.variants).length > 0) options.variants = chosen.variants;
  if (Object.keys(chosen.missing).length > 0) options.missingVariants = chosen.missing;
  // Only when off, so that the default leaves the options (and the engine's reuse key) as they were.
  if (!settings.fastQuantizedKernels) options.fastQuantizedKernels = false;
  if (!settings.fusedOperators) options.fusedOps = false;
  if (drafter.problem) notes.push(drafter.problem);
  return { key: JSON.stringify(options), options, target, drafter, notes };
}

/** Whether a model folder holds a variant's ONNX file, and if not, which variants it does hold. */
function variantProblem(dir: string, variant: string): string | undefined {
  if (fs.existsSync(path.join(dir, 'onnx', onnxFileFor(variant)))) return undefined;
  const present = onnxFilesIn(dir).map(variantOfFile);
  return `${dir} has no onnx/${onnxFileFor(variant)} (variants there: ${present.join(', ') || 'none'})`;
}

interface TargetVariantChoice {
  target: ResolvedTarget;
  variant?: string;
  variants: DeviceVariants;
  missing: DeviceVariants;
}

/**
 * lockstep.targetVariant when the target has it (used on every device; the probe decides drafting), else the automatic
 * choice: the catalog's variant per device, a device whose variant is not downloaded getting the message that says
 * so. A variant the target lacks is reported and the automatic choice used: a bad setting loses nothing. Throws when
 * the device the engine will run on is known and its variant is missing.
 */
function chooseTargetVariant(settings: LockstepSettings, env: ModelEnv, notes: string[]): TargetVariantChoice {
  const want = settings.targetVariant;
  const auto = resolveTarget(settings.target, env);
  if (want !== '') {
    const entry = auto.entry;
    let why: string | undefined;
    if (entry && isDownloadable(entry)) {
      try {
        const r = resolveModel(expandHome(settings.target), env.catalog, env.baseDir, { cacheDir: env.cacheDir, variant: want });
        return { target: { ...auto, dir: r.dir, variant: want, variants: {} }, variant: want, variants: {}, missing: {} };
      } catch (e) {
        why = (e as Error).message;
      }
    } else {
      why = variantProblem(auto.dir, want);
      if (why === undefined) return { target: { ...auto, variant: want, variants: {} }, variant: want, variants: {}, missing: {} };
    }
    notes.push(`setting "lockstep.targetVariant" is "${want}" but ${why}; using the automatic choice`);
  }
  const missing = auto.entry ? missingDeviceVariants(auto.entry, auto.variants, auto.variant, 'set lockstep.targetVariant to a downloaded variant') : {};
  const likely = likelyDevice(settings.device, process.platform, hasGpuDeviceNode());
  const now = likely === undefined ? undefined : missing[likely];
  if (now !== undefined) throw new ModelSpecError(now);
  return { target: auto, variant: auto.variant, variants: auto.variants, missing };
}

/** A model drafter with lockstep.drafterVariant when its folder has that file (else as it was, with a note). */
function withDrafterVariant(load: DrafterSpec, variant: string, notes: string[]): DrafterSpec {
  if (variant === '' || load.variant === variant) return load;
  const why = variantProblem(load.dir, variant);
  if (why === undefined) return { name: load.name, dir: load.dir, variant };
  notes.push(`setting "lockstep.drafterVariant" is "${variant}" but ${why}; drafter ${load.name} keeps its automatic variant`);
  return load;
}

export interface ModelChoice {
  /** The value written to the setting. */
  spec: string;
  label: string;
  description: string;
  /** False for a catalog model that is not downloaded yet. */
  available: boolean;
}

/**
 * Choose Drafter: each kind (the default first), a kind that needs a model once per available compatible drafter model
 * (auto, none, prompt-lookup, each model, each prompt-lookup+model).
 */
export function drafterChoices(target: ResolvedTarget, env: ModelEnv, current?: string): ModelChoice[] {
  const auto = autoDrafter(target, env);
  const candidates = `${auto.label.replace(/^auto \((.*)\)$/, '$1')}${auto.load ? ', prompt lookup' : ''}`;
  const models = availableDrafters(target, env);
  const out: ModelChoice[] = [];
  for (const kind of pickerKinds()) {
    const named = kind.needsModel ? models.map((m) => ({ spec: kind.spec(m.id), title: m.entry.name })) : [{ spec: kind.spec(''), title: '' }];
    for (const { spec, title } of named) {
      const name = formatDrafterSpec(spec);
      out.push({ spec: name, label: name, description: describeDrafter(spec, { title, candidates }), available: true });
    }
  }
  // Catalog drafters of the family that still need downloading.
  for (const m of env.catalog.models) {
    if (m.role === 'target' || m.family !== target.entry?.family || models.some((x) => x.id === m.id)) continue;
    if (isDownloadable(m)) out.push({ spec: m.id, label: m.id, description: `${m.name} — not downloaded`, available: false });
  }
  // A directory the user set that is not one of the above.
  if (current !== undefined && !out.some((c) => c.spec === current)) {
    out.push({ spec: current, label: current, description: 'current setting', available: true });
  }
  return out;
}

/** Choose Target Model: catalog models that can be targets, available or downloadable. */
export function targetChoices(env: ModelEnv, current?: string): ModelChoice[] {
  const out: ModelChoice[] = [];
  for (const m of env.catalog.models) {
    if (m.role === 'drafter') continue;
    const st = entryStatus(env.catalog, m, { cacheDir: env.cacheDir });
    out.push({
      spec: m.id,
      label: m.id,
      description: st.available ? m.name : `${m.name} — not downloaded`,
      available: st.available,
    });
  }
  if (current !== undefined && current !== '' && !out.some((c) => c.spec === current)) {
    out.push({ spec: current, label: current, description: 'current setting', available: true });
  }
  return out;
}

/** Catalog models that can be downloaded and are not complete in the models directory. */
export function downloadChoices(env: ModelEnv): CatalogEntry[] {
  return env.catalog.models.filter((m) => isDownloadable(m) && !entryStatus(env.catalog, m, { cacheDir: env.cacheDir }).available);
}

/** The drafter specs Verify Drafter Invariance compares: none, prompt-lookup, every available model and its lookup pair. */
export function verifyDrafters(target: ResolvedTarget, env: ModelEnv): { spec: string; request: string; load?: DrafterSpec }[] {
  const out: { spec: string; request: string; load?: DrafterSpec }[] = builtinDrafterSpecs({ verified: true }).map((s) => {
    const name = formatDrafterSpec(s);
    return { spec: name, request: name };
  });
  for (const m of availableDrafters(target, env)) {
    const load = drafterLoad(m.id, m.dir, m.variant, m.variants);
    for (const s of modelDrafterSpecs(m.id, { verified: true })) {
      const name = formatDrafterSpec(s);
      out.push({ spec: name, request: name, load });
    }
  }
  return out;
}

export { ModelSpecError, findEntry };
