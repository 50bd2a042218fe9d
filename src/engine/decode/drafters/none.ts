/** `none`: proposes nothing — plain autoregressive decoding of the target (and the reference every drafter matches). */
import type { Drafter, DrafterKind, Drafts } from './drafter';

export const NO_DRAFTER = 'none';

export class NoDrafter implements Drafter {
  readonly name = NO_DRAFTER;
  readonly secondsPerCall = 0;
  async draft(): Promise<Drafts> {
    return { tokens: [], calls: 0 };
  }
  reset(): void {}
}

export const NONE_KIND: DrafterKind<{ readonly kind: 'none' }> = {
  kind: 'none',
  usage: NO_DRAFTER,
  needsModel: false,
  loadsRecommended: false,
  candidate: false,
  verified: true,
  fallback: false,
  parse: (name) => (name === NO_DRAFTER ? { kind: 'none' } : undefined),
  spec: () => ({ kind: 'none' }),
  format: () => NO_DRAFTER,
  describe: () => 'no drafter: plain autoregressive decoding',
  make: () => new NoDrafter(),
};
