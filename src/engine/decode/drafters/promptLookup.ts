/**
 * `prompt-lookup` (Saxena 2023; "prompt lookup decoding"): find the most recent earlier occurrence of the last n
 * tokens of the context (n from maxNgram down to minNgram) and propose what followed it. Free, and strong on code,
 * which repeats identifiers and whole lines.
 */
import type { Drafter, DrafterKind, Drafts } from './drafter';

export const PROMPT_LOOKUP = 'prompt-lookup';

export class PromptLookupDrafter implements Drafter {
  readonly name = PROMPT_LOOKUP;
  readonly secondsPerCall = 0;
  constructor(
    private readonly maxNgram = 4,
    private readonly minNgram = 2,
  ) {}

  async draft(context: readonly number[], gamma: number): Promise<Drafts> {
    const n = context.length;
    for (let g = Math.min(this.maxNgram, n - 1); g >= this.minNgram; g--) {
      // most recent match first: nearby code is the best predictor
      for (let start = n - g - 1; start >= 0; start--) {
        let match = true;
        for (let k = 0; k < g; k++) {
          if (context[start + k] !== context[n - g + k]) {
            match = false;
            break;
          }
        }
        if (!match) continue;
        const from = start + g;
        const tokens = context.slice(from, Math.min(n, from + gamma));
        if (tokens.length > 0) return { tokens, calls: 0 };
      }
    }
    return { tokens: [], calls: 0 };
  }
  reset(): void {}
}

export const PROMPT_LOOKUP_KIND: DrafterKind<{ readonly kind: 'prompt-lookup' }> = {
  kind: 'prompt-lookup',
  usage: PROMPT_LOOKUP,
  needsModel: false,
  loadsRecommended: false,
  candidate: true,
  verified: true,
  fallback: false,
  parse: (name) => (name === PROMPT_LOOKUP ? { kind: 'prompt-lookup' } : undefined),
  spec: () => ({ kind: 'prompt-lookup' }),
  format: () => PROMPT_LOOKUP,
  describe: () => 'copies continuations of earlier text (free)',
  make: () => new PromptLookupDrafter(),
};
