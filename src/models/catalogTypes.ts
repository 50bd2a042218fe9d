/**
 * The model catalog's types and errors, shared by the validation (catalogValidate.ts) and the loading and resolving
 * (catalog.ts); import them from catalog.ts, which re-exports them.
 */
import type { Device } from '../engine/runtime/device';
import type { CacheFileSpec } from './hubCache';

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
  /** Directory of a model shipped with Lockstep, relative to the catalog file and inside the models/ folder next to it. */
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
  /** True for a model that only demonstrates the engine (the bundled 7M models): never a useful completion model. */
  demo?: boolean;
  /**
   * VS Code language ids the model was trained on (e.g. ["javascript", "typescript"]); absent: any language. Outside
   * them the editor says so once instead of showing what the model writes.
   */
  languages?: string[];
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
  /** false: this variant can never be exact (e.g. dynamic int8); it is never chosen automatically. Others are probed. */
  exact?: false;
  /** Why it cannot be exact (required with exact: false). */
  inexact?: string;
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
  /** The entries that passed validation, in catalog order (a bad entry is left out and named in `warnings`). */
  models: CatalogEntry[];
  /** Absolute path of the file read ('' for a catalog built in memory). */
  file: string;
  /**
   * One line per entry left out (index, id, field(s) and why) and per entry changed (a recommended drafter
   * dropped), in catalog order; empty for a clean catalog.
   */
  warnings: string[];
  /**
   * Set when the catalog file could not be used at all (missing, not JSON, not {version, models}): why. `models` then
   * holds only the models shipped with Lockstep (see loadCatalogOrBundled).
   */
  error?: string;
}

/** A catalog that cannot be used at all: unreadable, not JSON, or not an object {version: 1, models: [...]}. */
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
