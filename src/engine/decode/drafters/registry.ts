/**
 * Every kind of drafter, in the order the engine loads them (and so the order `auto` weighs them and the engine
 * lists them). A new kind is one file beside this one (its Drafter and its DrafterKind) and one line in
 * DRAFTER_KINDS; package.json's `lockstep.drafter` description and the settings' message are checked against this
 * list by test/engine/decode/drafter-registry.test.ts. drafterSpec.ts reads and writes the names.
 */
import type { Drafter, DrafterContext, DrafterKind } from './drafter';
import { AUTO_KIND } from './auto';
import { LOOKUP_THEN_MODEL_KIND } from './lookupThenModel';
import { MODEL_KIND } from './model';
import { NONE_KIND } from './none';
import { PROMPT_LOOKUP_KIND } from './promptLookup';

export const DRAFTER_KINDS = [
  NONE_KIND,
  PROMPT_LOOKUP_KIND,
  AUTO_KIND,
  MODEL_KIND,
  LOOKUP_THEN_MODEL_KIND,
] as const;

type AnyKind = (typeof DRAFTER_KINDS)[number];

/** A drafter name read: its kind, and the model it names for a kind that needs one. */
export type ParsedDrafter = AnyKind extends infer K ? (K extends DrafterKind<infer S> ? S : never) : never;

/** A kind's tag. */
export type DrafterKindId = ParsedDrafter['kind'];

/** The kind of a spec, typed for that spec (each kind is found by its own tag, so it takes its own specs). */
export function kindOf(spec: ParsedDrafter): DrafterKind<ParsedDrafter> {
  return DRAFTER_KINDS.find((k) => k.kind === spec.kind) as unknown as DrafterKind<ParsedDrafter>;
}

/** Makes the drafter a spec names; a kind that needs a model takes the one the context loaded under that name. */
export function makeDrafter(spec: ParsedDrafter, ctx: DrafterContext): Drafter {
  return kindOf(spec).make(spec, ctx);
}
