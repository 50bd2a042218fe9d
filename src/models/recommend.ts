/**
 * Which catalog target (and drafter, and variant) suits this machine: the first-run setup's recommendation.
 *
 * Pure: the caller measures the machine (RAM, free disk, cores, the device the engine will likely use) and passes
 * it in. The rules, from what was measured in this project (docs/performance.md, "At the real size"):
 *  - memory: a loaded model takes about 1.5× its file (1.48× measured at 0.5B), and the editor, the language
 *    servers and the rest of the machine keep half of the RAM;
 *  - disk: the download, plus as much again for the fused-operator copy the CPU path makes of it, plus 1 GB spare;
 *  - speed on the CPU: a target call reads every weight once per token, so on a few cores a larger model makes
 *    ghost text too slow to be useful (`lockstep bench peer` on a 2-core x86 CPU: 0.5B q4 about 25 tokens/s, 1.5B q4
 *    6–9 tokens/s; docs/performance.md): up to 4 cores
 *    about 1 GB of weights, up to 8 cores about 2 GB, more only with more cores or a GPU.
 * Among the targets that pass, the largest download wins (more parameters, better code).
 */
import type { Device } from '../engine/runtime/device';
import type { CatalogEntry } from './catalogTypes';
import { isDownloadable } from './catalog';

export interface Hardware {
  totalRamBytes: number;
  /** Free space where models are stored (undefined: not known). */
  freeDiskBytes: number | undefined;
  /** Logical cores. */
  cores: number;
  /** The device the engine will most likely use (undefined: not known, taken as the CPU). */
  device: Device | undefined;
}

export interface Candidate {
  entry: CatalogEntry;
  /** The variant that suits the device (the catalog's per-device choice, else its default). */
  variant: string | undefined;
  /** Approximate download size (undefined: the catalog does not say). */
  bytes: number | undefined;
  /** Why it does not suit this machine (undefined: it does). */
  unfit?: string;
}

export interface Recommendation {
  /** The targets, the recommended one first, then the others that fit, then those that do not. */
  candidates: Candidate[];
  /** The recommended target (undefined: none fits, or the catalog has none to download). */
  best: Candidate | undefined;
  /** A drafter model to download with it (undefined: prompt lookup is enough here, or none fits). */
  drafter: Candidate | undefined;
  /** One sentence: what the machine has and why this choice. */
  reason: string;
}

const GB = 1e9;
/** A loaded model's memory over its file size (measured 1.48× for the 0.5B stand-in's fused q4 path). */
const MEMORY_PER_FILE_BYTE = 1.5;
/** Share of RAM a model may take: the editor and the rest of the machine keep the other half. */
const RAM_SHARE = 0.5;
const DISK_SPARE = 1 * GB;

/** The variant the engine would run on `device` for this entry. */
export function variantFor(entry: CatalogEntry, device: Device | undefined): string | undefined {
  return entry.deviceVariants?.[device ?? 'cpu'] ?? entry.defaultVariant ?? Object.keys(entry.variants ?? {})[0];
}

/** A rough download size from the catalog's approxBytes / file sizes (undefined when it does not say). */
export function variantBytes(entry: CatalogEntry, variant?: string): number | undefined {
  const v = variant ?? entry.defaultVariant ?? Object.keys(entry.variants ?? {})[0];
  const spec = v !== undefined ? entry.variants?.[v] : undefined;
  if (spec?.approxBytes !== undefined) return spec.approxBytes;
  let total = 0;
  let known = false;
  for (const f of [...(entry.files ?? []), ...(spec?.files ?? [])]) {
    if (typeof f === 'string') continue;
    const size = f.size ?? f.approxBytes;
    if (typeof size === 'number') {
      total += size;
      known = true;
    }
  }
  return known ? total : undefined;
}

/** Most bytes of weights that stay fast enough for ghost text on this device and core count. */
function speedCap(hw: Hardware): number {
  if (hw.device !== undefined && hw.device !== 'cpu') return Infinity;
  if (hw.cores <= 4) return 1.0 * GB;
  if (hw.cores <= 8) return 2.0 * GB;
  return Infinity;
}

function gb(n: number): string {
  return `${(n / GB).toFixed(n < 10 * GB ? 1 : 0)} GB`;
}

/** Why `bytes` of model does not suit `hw` (undefined: it does); `budget` is the RAM left for it. */
function unfitReason(bytes: number | undefined, hw: Hardware, ramBudget: number, diskNeed: number): string | undefined {
  if (bytes === undefined) return undefined;
  const ram = bytes * MEMORY_PER_FILE_BYTE;
  if (ram > ramBudget) return `needs about ${gb(ram)} of memory; half of this machine's ${gb(hw.totalRamBytes)} is ${gb(hw.totalRamBytes * RAM_SHARE)}`;
  if (hw.freeDiskBytes !== undefined && diskNeed > hw.freeDiskBytes) return `needs about ${gb(diskNeed)} of disk; ${gb(hw.freeDiskBytes)} is free`;
  if (bytes > speedCap(hw)) return `too slow for ghost text on ${hw.cores} CPU cores without a GPU (over ${gb(speedCap(hw))} of weights)`;
  return undefined;
}

/** The machine in words: "24 GB RAM, 2 cores, 40 GB free, no GPU". */
export function describeHardware(hw: Hardware): string {
  const disk = hw.freeDiskBytes === undefined ? '' : `, ${gb(hw.freeDiskBytes)} free disk`;
  const gpu = hw.device === undefined || hw.device === 'cpu' ? 'no GPU in use (the CPU runs the models)' : `GPU via ${hw.device}`;
  return `${gb(hw.totalRamBytes)} RAM, ${hw.cores} cores${disk}, ${gpu}`;
}

/** The recommendation for `hw` among the catalog's downloadable, non-demo targets. */
export function recommendSetup(models: readonly CatalogEntry[], hw: Hardware): Recommendation {
  const ramBudget = hw.totalRamBytes * RAM_SHARE;
  const targets = models.filter((m) => (m.role === 'target' || m.role === 'both') && m.demo !== true && isDownloadable(m));
  const candidates: Candidate[] = targets.map((entry) => {
    const variant = variantFor(entry, hw.device);
    const bytes = variantBytes(entry, variant);
    const diskNeed = bytes === undefined ? 0 : 2 * bytes + DISK_SPARE;
    return { entry, variant, bytes, unfit: unfitReason(bytes, hw, ramBudget, diskNeed) };
  });
  const size = (c: Candidate) => c.bytes ?? 0;
  const fitting = candidates.filter((c) => c.unfit === undefined).sort((a, b) => size(b) - size(a));
  const rest = candidates.filter((c) => c.unfit !== undefined).sort((a, b) => size(a) - size(b));
  const best = fitting[0];
  const machine = describeHardware(hw);
  if (best === undefined) {
    const reason = candidates.length === 0
      ? 'the model catalog has no downloadable target'
      : `${machine}: no catalog target fits (the smallest, ${rest[0].entry.id}, ${rest[0].unfit})`;
    return { candidates: rest, best: undefined, drafter: undefined, reason };
  }
  const drafter = drafterFor(best, models, hw, ramBudget);
  const size1 = best.bytes === undefined ? '' : ` (about ${gb(best.bytes)})`;
  const larger = rest.find((c) => size(c) > size(best));
  const why = larger === undefined ? 'the largest catalog target that fits' : `the largest that fits: ${larger.entry.id} ${larger.unfit}`;
  const variant = best.variant === undefined ? '' : `, ${best.variant}${best.variant.startsWith('q4') ? ' (4-bit weights)' : ''}`;
  const draft = drafter === undefined ? '; drafter: auto (prompt lookup, no second download)' : `; drafter: ${drafter.entry.id} with auto`;
  const reason = `${machine} → ${best.entry.id}${variant}${size1}: ${why}${draft}.`;
  return { candidates: [...fitting, ...rest], best, drafter, reason };
}

/**
 * The target's first recommended drafter model, when a GPU runs the models and both fit: on the CPU a drafter model's
 * calls cost too much next to the target's (measured: the auto drafter picks prompt lookup there), so none is fetched.
 */
function drafterFor(best: Candidate, models: readonly CatalogEntry[], hw: Hardware, ramBudget: number): Candidate | undefined {
  if (hw.device === undefined || hw.device === 'cpu') return undefined;
  for (const id of best.entry.recommendedDrafters ?? []) {
    const entry = models.find((m) => m.id === id);
    if (entry === undefined || !isDownloadable(entry)) continue;
    const variant = variantFor(entry, hw.device);
    const bytes = variantBytes(entry, variant);
    const both = (bytes ?? 0) + (best.bytes ?? 0);
    if (both * MEMORY_PER_FILE_BYTE > ramBudget) continue;
    if (hw.freeDiskBytes !== undefined && 2 * both + DISK_SPARE > hw.freeDiskBytes) continue;
    return { entry, variant, bytes };
  }
  return undefined;
}
