/**
 * Drafter names — in settings, CLI options, requests and the server's list — read and written in one place:
 * 'none', 'prompt-lookup', 'auto', a catalog id or model directory, 'prompt-lookup+<model>', each kind's own format
 * (registry.ts lists the kinds). format(parse(name)) is name for every name.
 */
import { AUTO } from './auto';
import type { DrafterWords } from './drafter';
import { DRAFTER_KINDS, kindOf, type DrafterKindId, type ParsedDrafter } from './registry';

export type { DrafterKindId, ParsedDrafter };
export { kindOf as drafterKind };

/** The setting's and `lockstep serve`'s default drafter. */
export const DEFAULT_DRAFTER = AUTO;

/** The kinds tried by parse: each fixed name and prefix first, the kind that takes any other name last. */
const PARSE_ORDER = [...DRAFTER_KINDS.filter((k) => !k.fallback), ...DRAFTER_KINDS.filter((k) => k.fallback)];

/** A drafter name → its kind and model. Never fails: a name no kind claims names a model (which may not exist). */
export function parseDrafterSpec(name: string): ParsedDrafter {
  for (const k of PARSE_ORDER) {
    const spec = k.parse(name);
    if (spec !== undefined) return spec;
  }
  throw new Error('no drafter kind takes every name'); // unreachable while the model kind is registered
}

export function formatDrafterSpec(spec: ParsedDrafter): string {
  return kindOf(spec).format(spec);
}

/** The model a spec names (undefined for a kind that needs none; '' for a name with nothing where its model goes). */
export function drafterModel(spec: ParsedDrafter): string | undefined {
  return 'model' in spec ? spec.model : undefined;
}

/** The same kind naming another model (the engine's name for it, or a short one for labels). */
export function withDrafterModel(spec: ParsedDrafter, model: string): ParsedDrafter {
  return kindOf(spec).spec(model);
}

/** The drafters that need no model, in the engine's order: 'none', 'prompt-lookup', 'auto'. */
export const BUILTIN_DRAFTERS: readonly string[] = DRAFTER_KINDS.filter((k) => !k.needsModel).map((k) => formatDrafterSpec(k.spec('')));

/** How help texts write a drafter: `none | prompt-lookup | auto | catalog id | directory | prompt-lookup+<model>`. */
export const DRAFTER_USAGE = DRAFTER_KINDS.map((k) => k.usage).join(' | ');

/** The specs of the kinds that need no model (those Verify compares only, with `verified`). */
export function builtinDrafterSpecs(only: { verified?: boolean } = {}): ParsedDrafter[] {
  return DRAFTER_KINDS.filter((k) => !k.needsModel && (!only.verified || k.verified)).map((k) => k.spec(''));
}

/** Every drafter a loaded model gives, one per model kind: `m`, `prompt-lookup+m`. */
export function modelDrafterSpecs(model: string, only: { verified?: boolean } = {}): ParsedDrafter[] {
  return DRAFTER_KINDS.filter((k) => k.needsModel && (!only.verified || k.verified)).map((k) => k.spec(model));
}

/** Every name an engine with these models answers, kind by kind (the server's list): built-ins, then each model kind. */
export function drafterNamesFor(models: readonly string[]): string[] {
  const byKind = DRAFTER_KINDS.filter((k) => k.needsModel).flatMap((k) => models.map((m) => formatDrafterSpec(k.spec(m))));
  return [...BUILTIN_DRAFTERS, ...byKind];
}

/** Whether `auto` may choose the drafter of this name. */
export function isAutoCandidate(name: string): boolean {
  return kindOf(parseDrafterSpec(name)).candidate;
}

/** The Choose Drafter picker's line for a spec. */
export function describeDrafter(spec: ParsedDrafter, words: DrafterWords): string {
  return kindOf(spec).describe(spec, words);
}

/** Kinds in the picker's order: the default first, then the registry's. */
export function pickerKinds(): readonly (typeof DRAFTER_KINDS)[number][] {
  const first = DRAFTER_KINDS.filter((k) => !k.needsModel && formatDrafterSpec(k.spec('')) === DEFAULT_DRAFTER);
  return [...first, ...DRAFTER_KINDS.filter((k) => !first.includes(k))];
}

/** Every kind's tag (tests). */
export const DRAFTER_KIND_IDS: readonly DrafterKindId[] = DRAFTER_KINDS.map((k) => k.kind);
