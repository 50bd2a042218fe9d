/**
 * Every coupling, in the order settings, help and menus list them. A new coupling is one file beside this one
 * (a CouplingSpec, or samplerCoupling for one through public randomness) and one line in COUPLINGS; the settings'
 * enum in package.json is checked against this list by test/engine/decode/coupling-registry.test.ts.
 */
import type { SamplerCouplingSpec, SamplerFactory } from './coupling';
import type { SamplingSettings, TokenSampler } from '../types';
import { GUMBEL } from './gumbel';
import { STANDARD } from './standard';
import { WMH } from './wmh';

export const COUPLINGS = [
  GUMBEL,
  WMH,
  STANDARD,
] as const;

type AnyCoupling = (typeof COUPLINGS)[number];

/** A coupling's name in settings, options and request JSON. */
export type CouplingKind = AnyCoupling['id'];

/** The couplings that hand out a per-model sampler (those through public randomness). */
export type SamplerCouplingKind = Extract<AnyCoupling, { sampler: SamplerFactory }>['id'];

export const COUPLING_IDS: readonly CouplingKind[] = COUPLINGS.map((c) => c.id);

/** The drafter-invariant couplings: `lockstep verify` and the extension's Verify expect identical bytes from them. */
export const INVARIANT_COUPLINGS: readonly CouplingKind[] = COUPLINGS.filter((c) => c.invariant).map((c) => c.id);

/** The setting's and the CLI's default. */
export const DEFAULT_COUPLING: CouplingKind = 'gumbel';

/** `a | b | c (default a)`: the options' help text. */
export const COUPLING_CHOICES_HELP = `${COUPLING_IDS.join(' | ')} (default ${DEFAULT_COUPLING})`;

/** The coupling named `id`; a RangeError for an unknown one. */
export function couplingSpec(id: string): AnyCoupling {
  const spec = COUPLINGS.find((c) => c.id === id);
  if (!spec) throw new RangeError(`unknown coupling ${id}`);
  return spec;
}

/** Whether `id` names a drafter-invariant coupling (false for an unknown name). */
export function isInvariantCoupling(id: string): boolean {
  return COUPLINGS.some((c) => c.id === id && c.invariant);
}

/** A coupled sampler for one model: Gumbel-max, Weighted MinHash, or any other coupling through public randomness. */
export function makeSampler(kind: SamplerCouplingKind, settings: SamplingSettings, seed: number, vocabLimit: number): TokenSampler {
  const spec = couplingSpec(kind);
  if (!('sampler' in spec)) throw new RangeError(`coupling ${kind} has no per-model sampler`);
  return (spec as SamplerCouplingSpec).sampler(settings, seed, vocabLimit);
}
