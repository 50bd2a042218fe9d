/**
 * Opening an engine from model specs — catalog ids or model directories — for the target and its drafters: the
 * catalog (with its warnings on stderr, once), the drafters a target recommends or ships with, the tokenizer-family
 * check, and the loaded Engine. Used by `lockstep complete`, `lockstep verify`, `lockstep serve` (the plan only: its
 * engine loads in the engine process) and the benchmarks.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DrafterSpec, Engine, EngineInfo, EngineOptions } from '../engine/process/engine';
import { drafterKind, drafterModel, formatDrafterSpec, parseDrafterSpec } from '../engine/decode/drafters/drafterSpec';
import type { FusedProgress } from '../engine/runtime/fusedModel';
import { DeviceRequest, describeOutcome, hasGpuDeviceNode, likelyDevice } from '../engine/runtime/device';
import { inexactMessage } from '../engine/runtime/exactness';
import { fimStopTokenIds } from '../engine/prompt/fim';
import { findOnnxFile, onnxFilesIn } from '../engine/runtime/modelDir';
import {
  Catalog, CatalogEntry, catalogNotices, downloadedDeviceVariants, missingDeviceVariants, entryForDir, entryStatus, findEntry, loadCatalog, loadCatalogOrBundled,
  ResolvedModel, resolveModel, variantNames,
} from '../models/catalog';
import { UsageError } from './args';
import { CliError, oneLine } from './io';

// ---------------------------------------------------------------- catalog warnings

/** Where catalog warnings go: the running main()'s stderr (each line once per command). */
interface NoticeSink {
  stderr(text: string): void;
  printed: Set<string>;
}
const noticeScope = new AsyncLocalStorage<NoticeSink>();
/** Outside main() (bench scripts, the demo calling openEngine or runVerify): the process's stderr, once per process. */
const processNotices: NoticeSink = { stderr: (t) => void process.stderr.write(t), printed: new Set() };

/** Runs `fn` with catalog warnings going to `stderr`, each line once however often `fn` opens the catalog. */
export function withCatalogNotices<T>(stderr: (text: string) => void, fn: () => T): T {
  return noticeScope.run({ stderr, printed: new Set() }, fn);
}

// ---------------------------------------------------------------- engines and drafters

export interface DrafterPlan {
  /** As the user wrote it. */
  spec: string;
  /** The name complete() gets. */
  requestName: string;
  /** Model directories to load with addDrafter (name → dir). */
  load?: DrafterSpec;
}

export interface EngineSetup {
  engine: Engine;
  catalog: Catalog;
  targetSpec: string;
  targetDir: string;
  targetEntry?: CatalogEntry;
  drafters: DrafterPlan[];
}

/** The ids that end a completion for this engine: the target's EOS ids and its FIM template's stop tokens. */
export function setupStopIds({ engine }: EngineSetup): Set<number> {
  return new Set<number>([...engine.target.config.eosTokenIds, ...fimStopTokenIds(engine.tokenizer, engine.fim)]);
}

/**
 * The catalog: --catalog FILE (an error when it cannot be used at all), else the package's models.json (the shipped
 * models when it cannot be used). Its warnings (entries skipped, drafters dropped) go to stderr, one line each, once.
 */
export function openCatalog(file: string | undefined, cwd: string): Catalog {
  const catalog = file === undefined ? loadCatalogOrBundled() : loadCatalog(path.resolve(cwd, file));
  const sink = noticeScope.getStore() ?? processNotices;
  for (const line of catalogNotices(catalog)) {
    const text = `lockstep: warning: ${oneLine(line)}\n`;
    if (sink.printed.has(text)) continue;
    sink.printed.add(text);
    sink.stderr(text);
  }
  return catalog;
}

/** The catalog entry for a model spec (an id, or a directory that is some entry's bundled directory). */
export function entryFor(catalog: Catalog, spec: string, dir: string): CatalogEntry | undefined {
  return findEntry(catalog, spec) ?? entryForDir(catalog, dir);
}

/** The drafters a target's catalog entry recommends that are available here, best first. */
export function recommendedDrafters(catalog: Catalog, target: CatalogEntry | undefined): string[] {
  return (target?.recommendedDrafters ?? []).filter((id) => {
    const e = findEntry(catalog, id);
    return e !== undefined && entryStatus(catalog, e).available;
  });
}

/** Every shipped (bundled, present) drafter of the target's tokenizer family. */
export function shippedDrafters(catalog: Catalog, target: CatalogEntry | undefined): string[] {
  const rec = recommendedDrafters(catalog, target);
  const others = catalog.models
    .filter((m) => m.role !== 'target' && m.bundled && (!target || m.family === target.family) && entryStatus(catalog, m).available)
    .map((m) => m.id)
    .filter((id) => !rec.includes(id))
    .sort();
  return [...rec, ...others];
}

/** A downloaded catalog model's variant per device (only variants present in its resolved snapshot). */
function deviceVariantsOf(catalog: Catalog, spec: string, dir: string): DrafterSpec['variants'] {
  const entry = findEntry(catalog, spec);
  return entry ? downloadedDeviceVariants(entry, dir) : undefined;
}

/**
 * The target's variants: the one asked for on every device (the probe then decides drafting); else, for a catalog
 * entry, its variant per device — and for a device whose variant is not downloaded, the message naming it and the
 * download command, instead of silently loading another (possibly inexact) variant.
 */
export function targetVariants(catalog: Catalog, spec: string, resolved: ResolvedModel, explicit?: string): Pick<EngineOptions, 'variant' | 'variants' | 'missingVariants'> {
  if (explicit !== undefined) return { variant: explicit };
  const entry = findEntry(catalog, spec);
  const variants = deviceVariantsOf(catalog, spec, resolved.dir) ?? {};
  const missingVariants = entry ? missingDeviceVariants(entry, variants, resolved.variant, 'ask for a downloaded variant with --variant') : {};
  return { variant: resolved.variant, variants, missingVariants };
}

function planDrafter(spec: string, catalog: Catalog, cwd: string, variant?: string): DrafterPlan {
  const parsed = parseDrafterSpec(spec);
  const model = drafterModel(parsed);
  if (model === undefined) return { spec, requestName: spec };
  if (model === '') {
    throw new UsageError(`drafter '${spec}' names no model after '${formatDrafterSpec({ kind: 'lookup-then-model', model: '' })}'`);
  }
  const resolved = resolveSpec('drafter', '--drafter-variant', model, catalog, cwd, variant);
  const load: DrafterSpec = variant !== undefined
    ? { name: model, dir: resolved.dir, variant }
    : { name: model, dir: resolved.dir, variant: resolved.variant, variants: deviceVariantsOf(catalog, model, resolved.dir) };
  return { spec, requestName: formatDrafterSpec(parsed), load };
}

/**
 * A model spec and its --variant resolved, with the exit status the mistake calls for: an id that names nothing, or a
 * variant the model does not have, is a usage error (2); a model that exists but is not downloaded, or a folder that
 * is not a model, is a runtime failure (1).
 */
function resolveSpec(role: 'target' | 'drafter', flag: string, spec: string, catalog: Catalog, cwd: string, variant?: string): ResolvedModel {
  const entry = findEntry(catalog, spec);
  if (variant !== undefined && entry?.variants !== undefined && !variantNames(entry).includes(variant)) {
    throw new UsageError(`${flag}: model '${entry.id}' has no variant "${variant}" (variants: ${variantNames(entry).join(', ')})`);
  }
  let resolved: ResolvedModel;
  try {
    resolved = resolveModel(spec, catalog, cwd, variant === undefined ? {} : { variant });
  } catch (e) {
    const unknown = spec === '' || (entry === undefined && !fs.existsSync(path.resolve(cwd, spec)));
    throw unknown ? new UsageError(`${role}: ${(e as Error).message}`) : new CliError(`${role}: ${(e as Error).message}`);
  }
  // A folder (or a bundled entry) has the variants its onnx/ holds; one it lacks is a wrong --variant. An empty or
  // missing onnx/ is a broken folder instead, which loading reports.
  if (variant !== undefined && entry?.variants === undefined && onnxFilesIn(resolved.dir).length > 0) {
    try {
      findOnnxFile(resolved.dir, variant);
    } catch (e) {
      throw new UsageError(`${flag}: ${(e as Error).message}`);
    }
  }
  return resolved;
}

export interface ModelOptions {
  catalog?: string;
  target?: string;
  threads?: number;
  fim?: string;
  /** Execution device (default cpu; auto tries the GPU providers, then the CPU). */
  device?: DeviceRequest;
  /** The target's ONNX variant (--variant), and the model drafters' (--drafter-variant). */
  variant?: string;
  'drafter-variant'?: string;
  /** Cache root for exactness verdicts and patched q4 copies (default: lockstepCacheDir()). */
  cacheDir?: string;
  /** Load q4 files as they are on the CPU, not through the accuracy_level-4 copy (engine/fastQ4.ts). */
  'no-fast-q4'?: boolean;
  /** Load fp32 files as they are on the CPU, not through the fused-operator copy (engine/fusedModel.ts). */
  'no-fused'?: boolean;
}

/** An engine resolved from model specs but not loaded: `lockstep complete` loads it here, `lockstep serve` in its engine process. */
export interface EnginePlan extends Omit<EngineSetup, 'engine'> {
  /** The engine's options, the model drafters included (in the order the specs name them, each once). */
  options: EngineOptions;
}

export function planEngineOptions(opts: ModelOptions, drafterSpecs: string[], cwd: string): EnginePlan {
  const catalog = openCatalog(opts.catalog, cwd);
  const targetSpec = opts.target ?? 'lockstep-target';
  const target = resolveSpec('target', '--variant', targetSpec, catalog, cwd, opts.variant);
  const targetDir = target.dir;
  const targetEntry = entryFor(catalog, targetSpec, targetDir);
  // `auto` drafts with whichever loaded drafter the engine measures to pay (drafters/auto.ts): it loads the target's
  // first recommended available drafter model as a candidate, as the extension's `auto` does.
  const autoModel = recommendedDrafters(catalog, targetEntry)[0];
  const plans = drafterSpecs.map((s) => (drafterKind(parseDrafterSpec(s)).loadsRecommended && autoModel !== undefined
    ? { ...planDrafter(autoModel, catalog, cwd, opts['drafter-variant']), spec: s, requestName: s }
    : planDrafter(s, catalog, cwd, opts['drafter-variant'])));
  // Catalog families settle tokenizer compatibility before anything loads; the engine checks the vocabulary itself.
  for (const p of plans) {
    if (!p.load || !targetEntry) continue;
    const de = entryFor(catalog, p.load.name, p.load.dir);
    if (de && de.family !== targetEntry.family) {
      throw new CliError(
        `drafter '${p.load.name}' (tokenizer family ${de.family}) cannot draft for target '${targetEntry.id}' ` +
          `(family ${targetEntry.family}): speculative decoding needs one shared vocabulary`,
      );
    }
  }
  const variants = targetVariants(catalog, targetSpec, target, opts.variant);
  // Said before anything loads when the device is known (the engine says it too, for a device found by trying).
  const likely = likelyDevice(opts.device ?? 'cpu', process.platform, hasGpuDeviceNode());
  const missing = likely === undefined ? undefined : variants.missingVariants?.[likely];
  if (missing !== undefined) throw new CliError(missing);
  const drafters: DrafterSpec[] = [];
  for (const p of plans) if (p.load && !drafters.some((d) => d.name === p.load!.name)) drafters.push(p.load);
  const options: EngineOptions = {
    target: targetDir, threads: opts.threads, fim: opts.fim ?? targetEntry?.fim, device: opts.device,
    cacheDir: opts.cacheDir, fastQuantizedKernels: opts['no-fast-q4'] !== true, fusedOps: opts['no-fused'] !== true, ...variants,
    drafters,
  };
  return { options, catalog, targetSpec, targetDir, targetEntry, drafters: plans };
}

export async function openEngine(opts: ModelOptions, drafterSpecs: string[], cwd: string): Promise<EngineSetup> {
  const { options: { drafters, ...options }, ...plan } = planEngineOptions(opts, drafterSpecs, cwd);
  const engine = await Engine.create({ ...options, fusedMode: 'wait', onFusedProgress: fusedProgressLine() });
  try {
    for (const d of drafters ?? []) await engine.addDrafter(d);
  } catch (e) {
    await engine.dispose().catch(() => undefined);
    throw e;
  }
  return { engine, ...plan };
}

/**
 * The CLI's line while a fused copy is made (once per model file): redrawn in place on a terminal; elsewhere (a log, a
 * pipe) a line every 10 %, and only for files over 256 MiB (small ones take well under a second).
 */
export function fusedProgressLine(stream: NodeJS.WriteStream = process.stderr): (p: FusedProgress) => void {
  let last = -1;
  return (p) => {
    const pct = Math.min(100, Math.floor((100 * p.done) / Math.max(1, p.total)));
    const step = stream.isTTY ? pct : Math.floor(pct / 10) * 10;
    if (step === last || (!stream.isTTY && p.total < 256 * 2 ** 20)) return;
    last = step;
    const line = `lockstep: making the fused-operator copy of ${path.basename(p.file)} (once, cached by content): ${step}%`;
    stream.write(stream.isTTY ? `\r${line}${pct >= 100 ? '\n' : ''}` : `${line}\n`);
  };
}

/**
 * The lines a command prints once on stderr about the engine it opened: a device fallback, the variant picked from a
 * folder holding several, and an inexact target (drafting off: why, and which variant would be exact).
 */
export function engineNotices(info: EngineInfo, targetSpec: string): string[] {
  const out: string[] = [];
  if (info.device.fellBack) out.push(describeOutcome(info.device));
  if (info.device.variantNote) out.push(info.device.variantNote);
  if (!info.exactness.exact) out.push(inexactMessage(info.exactness, targetSpec));
  return out;
}
