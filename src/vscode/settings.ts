/**
 * The extension's settings (`lockstep.*`): their defaults, ranges and validation. No `vscode` import: the extension
 * passes `get(key)` (WorkspaceConfiguration.get) and shows the warnings, so everything here is unit-tested.
 *
 * A value of the wrong type or out of range never reaches the engine: it is replaced by the default and reported
 * once (per setting and value) with a message that names the setting, what it must be, and what it got.
 */
import { DEVICE_REQUESTS, type DeviceRequest } from '../engine/runtime/device';
import { COUPLING_IDS, CouplingKind, DEFAULT_COUPLING } from '../engine/decode/couplings/registry';

export type MultilineMode = 'auto' | 'always' | 'never';
/** The `device` setting goes to the engine as it is (EngineOptions.device). */
export type DeviceSetting = DeviceRequest;

export interface LockstepSettings {
  enable: boolean;
  /** Target model: catalog id or model directory. */
  target: string;
  /** The target's ONNX variant (fp32, q4, q4f16 …); '' = the catalog's exact one for the device, a folder's only file, else its preferred one. */
  targetVariant: string;
  /** The model drafters' ONNX variant; '' = automatic, as for the target. */
  drafterVariant: string;
  /** 'auto' (the target's recommended drafter), 'none', 'prompt-lookup', a catalog id or directory, or 'prompt-lookup+<model>'. */
  drafter: string;
  coupling: CouplingKind;
  seed: number;
  temperature: number;
  topP: number;
  topK: number;
  draftTokens: number | 'auto';
  maxTokens: number;
  multiline: MultilineMode;
  debounceMs: number;
  /** Prompt budget in tokens (FIM markers, text before and after the cursor). */
  contextTokens: number;
  device: DeviceSetting;
  /** intra-op threads per model; 0 = onnxruntime's default. */
  threads: number;
  /** On the CPU, load q4 files lacking MatMulNBits accuracy_level through a cached copy with level 4 (engine/fastQ4.ts). */
  fastQuantizedKernels: boolean;
  /** On the CPU, load Llama/Qwen2 files (fp32, fp16, q4, q4f16) through a cached copy on onnxruntime's fused operators (engine/fusedModel.ts). */
  fusedOperators: boolean;
  /** '' = LOCKSTEP_MODELS_DIR, else the Hugging Face cache (~/.cache/huggingface/hub). */
  modelsDir: string;
  /** '' = HF_ENDPOINT, else https://huggingface.co. */
  hubEndpoint: string;
  /** A models.json-format file whose entries are added to the shipped catalog ('' = none). */
  extraCatalog: string;
  /** Language ids (e.g. "markdown") with no inline completions. */
  disabledLanguages: string[];
  /** Cross-file context (`lockstep.context.enable`): snippets of other workspace files in the prompt. */
  contextEnable: boolean;
  /** Most prompt tokens the snippets take (`lockstep.context.budgetTokens`). */
  contextBudgetTokens: number;
  /** Where snippets come from (`lockstep.context.sources`). */
  contextSources: ContextSource[];
  /** Globs of files never read for context (`lockstep.contextExclude`), besides `files.exclude`. */
  contextExclude: string[];
  /** `lockstep.server.url`: a `lockstep serve` server that completes instead of the local engine ('' = the local engine). */
  serverUrl: string;
}

export type ContextSource = 'openEditors' | 'recentEdits' | 'recentViews' | 'imports';
export const CONTEXT_SOURCES: readonly ContextSource[] = ['openEditors', 'recentEdits', 'recentViews', 'imports'];

export const SECTION = 'lockstep';
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
export const COUPLINGS: readonly CouplingKind[] = COUPLING_IDS;
export const MULTILINE_MODES: readonly MultilineMode[] = ['auto', 'always', 'never'];
/** The device setting's values: the engine's (src/engine/runtime/device.ts is pure; it does not load onnxruntime-node). */
export const DEVICES: readonly DeviceSetting[] = DEVICE_REQUESTS;

export const DEFAULT_SETTINGS: Readonly<LockstepSettings> = Object.freeze({
  enable: true,
  target: 'lockstep-target',
  targetVariant: '',
  drafterVariant: '',
  drafter: 'auto',
  coupling: DEFAULT_COUPLING,
  seed: 0,
  temperature: 0.2,
  topP: 1,
  topK: 0,
  draftTokens: 'auto',
  maxTokens: 64,
  multiline: 'auto',
  debounceMs: 150,
  contextTokens: 1024,
  device: 'auto',
  threads: 0,
  fastQuantizedKernels: true,
  fusedOperators: true,
  modelsDir: '',
  hubEndpoint: '',
  extraCatalog: '',
  disabledLanguages: [] as string[],
  contextEnable: true,
  contextBudgetTokens: 512,
  contextSources: [...CONTEXT_SOURCES],
  contextExclude: [] as string[],
  serverUrl: '',
} satisfies LockstepSettings);

/** Settings whose configuration key is not their field name (a `lockstep.context.*` group). */
const CONFIG_KEYS: Partial<Record<keyof LockstepSettings, string>> = {
  contextEnable: 'context.enable',
  contextBudgetTokens: 'context.budgetTokens',
  contextSources: 'context.sources',
  serverUrl: 'server.url',
};

/** The key under `lockstep.` that a setting is read from. */
export function configKey(key: keyof LockstepSettings): string {
  return CONFIG_KEYS[key] ?? key;
}

/** A parser returns the accepted value, or undefined when the raw value is invalid. */
type Parser<T> = (raw: unknown) => T | undefined;

interface FieldSpec<T> {
  parse: Parser<T>;
  /** What a valid value is, for the warning ("an integer from 0 to 5000"). */
  expect: string;
}

const bool: FieldSpec<boolean> = { parse: (v) => (typeof v === 'boolean' ? v : undefined), expect: 'true or false' };

function num(opts: { min: number; max: number; integer?: boolean; minExclusive?: boolean; expect: string }): FieldSpec<number> {
  return {
    expect: opts.expect,
    parse: (v) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
      if (opts.integer && !Number.isSafeInteger(v)) return undefined;
      if (opts.minExclusive ? v <= opts.min : v < opts.min) return undefined;
      if (v > opts.max) return undefined;
      return v;
    },
  };
}

function oneOf<T extends string>(values: readonly T[]): FieldSpec<T> {
  return {
    expect: `one of ${values.map((x) => `"${x}"`).join(', ')}`,
    parse: (v) => (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : undefined),
  };
}

function text(opts: { allowEmpty: boolean; expect: string }): FieldSpec<string> {
  return {
    expect: opts.expect,
    parse: (v) => {
      if (typeof v !== 'string') return undefined;
      const t = v.trim();
      if (!opts.allowEmpty && t === '') return undefined;
      return t;
    },
  };
}

const draftTokens: FieldSpec<number | 'auto'> = {
  expect: '"auto" or an integer from 0 to 32',
  parse: (v) => (v === 'auto' ? 'auto' : num({ min: 0, max: 32, integer: true, expect: '' }).parse(v)),
};

function httpUrl(expect: string): FieldSpec<string> {
  return { expect, parse: (v) => {
    if (typeof v !== 'string') return undefined;
    const t = v.trim().replace(/\/+$/, '');
    if (t === '') return '';
    try {
      const u = new URL(t);
      return u.protocol === 'http:' || u.protocol === 'https:' ? t : undefined;
    } catch {
      return undefined;
    }
  } };
}

const url = httpUrl('an http:// or https:// URL (empty = HF_ENDPOINT, else https://huggingface.co)');
const serverUrl = httpUrl('an http:// or https:// URL of a `lockstep serve` server such as "http://127.0.0.1:8012" (empty = the local engine)');

const variant: FieldSpec<string> = {
  expect: 'a variant name such as "fp32", "q4", "q4f16", "fp16" or "int8" (onnx/model_<variant>.onnx), or "" for automatic',
  parse: (v) => (typeof v === 'string' && /^([a-z0-9][a-z0-9_]*)?$/.test(v.trim()) ? v.trim() : undefined),
};

const languages: FieldSpec<string[]> = {
  expect: 'an array of language ids (strings such as "markdown")',
  parse: (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.map((x: string) => x.trim()).filter((x) => x !== '') : undefined),
};

const contextSources: FieldSpec<ContextSource[]> = {
  expect: `an array of ${CONTEXT_SOURCES.map((x) => `"${x}"`).join(', ')}`,
  parse: (v) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string' && (CONTEXT_SOURCES as readonly string[]).includes(x))
      ? CONTEXT_SOURCES.filter((x) => v.includes(x))
      : undefined,
};

const globs: FieldSpec<string[]> = {
  expect: 'an array of glob patterns (strings such as "**/secrets/**")',
  parse: (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.map((x: string) => x.trim()).filter((x) => x !== '') : undefined),
};

const SPECS: { [K in keyof LockstepSettings]: FieldSpec<LockstepSettings[K]> } = {
  enable: bool,
  target: text({ allowEmpty: false, expect: 'a catalog model id or a model directory' }),
  targetVariant: variant,
  drafterVariant: variant,
  drafter: text({ allowEmpty: false, expect: '"auto", "none", "prompt-lookup", a catalog model id, a model directory or "prompt-lookup+<model>"' }),
  coupling: oneOf(COUPLINGS),
  seed: num({ min: 0, max: MAX_SEED, integer: true, expect: 'an integer from 0 to 9007199254740991' }),
  temperature: num({ min: 0, max: 5, expect: 'a number from 0 to 5 (below 1e-6 = greedy)' }),
  topP: num({ min: 0, max: 1, minExclusive: true, expect: 'a number greater than 0 and at most 1' }),
  topK: num({ min: 0, max: 1_000_000, integer: true, expect: 'an integer ≥ 0 (0 = off)' }),
  draftTokens,
  maxTokens: num({ min: 1, max: 4096, integer: true, expect: 'an integer from 1 to 4096' }),
  multiline: oneOf(MULTILINE_MODES),
  debounceMs: num({ min: 0, max: 5000, integer: true, expect: 'an integer from 0 to 5000' }),
  contextTokens: num({ min: 64, max: 32768, integer: true, expect: 'an integer from 64 to 32768' }),
  device: oneOf(DEVICES),
  threads: num({ min: 0, max: 64, integer: true, expect: 'an integer from 0 to 64 (0 = automatic)' }),
  fastQuantizedKernels: bool,
  fusedOperators: bool,
  modelsDir: text({ allowEmpty: true, expect: 'a directory path (empty = the Hugging Face cache)' }),
  hubEndpoint: url,
  extraCatalog: text({ allowEmpty: true, expect: 'the path of a models.json-format file (empty = none)' }),
  disabledLanguages: languages,
  contextEnable: bool,
  contextBudgetTokens: num({ min: 0, max: 16384, integer: true, expect: 'an integer from 0 to 16384' }),
  contextSources,
  contextExclude: globs,
  serverUrl,
};

export const SETTING_KEYS = Object.keys(SPECS) as (keyof LockstepSettings)[];

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function showDefault(v: unknown): string {
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (v === '') return '""';
  return typeof v === 'string' ? `"${v}"` : show(v);
}

export interface SettingsProblem {
  key: keyof LockstepSettings;
  value: unknown;
  message: string;
}

/** Validates every setting; `get` returns undefined for a setting the user has not set. */
export function validateSettings(get: (key: string) => unknown): { settings: LockstepSettings; problems: SettingsProblem[] } {
  const settings = {
    ...DEFAULT_SETTINGS, disabledLanguages: [...DEFAULT_SETTINGS.disabledLanguages],
    contextSources: [...DEFAULT_SETTINGS.contextSources], contextExclude: [...DEFAULT_SETTINGS.contextExclude],
  } as LockstepSettings;
  const problems: SettingsProblem[] = [];
  for (const key of SETTING_KEYS) {
    const raw = get(configKey(key));
    if (raw === undefined) continue;
    const spec = SPECS[key] as FieldSpec<unknown>;
    const value = spec.parse(raw);
    if (value === undefined) {
      problems.push({
        key,
        value: raw,
        message: `Lockstep: setting "${SECTION}.${configKey(key)}" must be ${spec.expect} (got ${show(raw)}); using the default ${showDefault(DEFAULT_SETTINGS[key])}.`,
      });
    } else {
      (settings as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return { settings, problems };
}

/**
 * validateSettings with memory: `read` reports each bad (setting, value) pair only the first time it is seen, so a
 * settings change elsewhere does not repeat old warnings, while a new bad value is reported again.
 */
export class SettingsReader {
  private readonly reported = new Set<string>();
  private readonly all: string[] = [];

  read(get: (key: string) => unknown): { settings: LockstepSettings; warnings: string[] } {
    const { settings, problems } = validateSettings(get);
    const warnings: string[] = [];
    for (const p of problems) {
      const id = `${p.key}=${show(p.value)}`;
      if (this.reported.has(id)) continue;
      this.reported.add(id);
      warnings.push(p.message);
      this.all.push(p.message);
    }
    return { settings, warnings };
  }

  /** Every warning reported so far. */
  history(): string[] {
    return [...this.all];
  }
}

/** The settings whose change means reloading models (the engine restarts); the rest apply to the next completion. */
export const ENGINE_KEYS: readonly (keyof LockstepSettings)[] = ['target', 'targetVariant', 'drafter', 'drafterVariant', 'device', 'threads', 'fastQuantizedKernels', 'fusedOperators', 'modelsDir'];

/** True when the language's completions are turned off by `disabledLanguages` (ids compared case-insensitively; "*" = all). */
export function languageDisabled(settings: Pick<LockstepSettings, 'disabledLanguages'>, languageId: string): boolean {
  const id = languageId.toLowerCase();
  return settings.disabledLanguages.some((l) => l === '*' || l.toLowerCase() === id);
}
