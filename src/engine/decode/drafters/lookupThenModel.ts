/** `prompt-lookup+<model>`: prompt lookup when the context offers a match, the model drafter otherwise. */
import type { Drafter, DrafterKind, DraftPolicy, Drafts } from './drafter';
import { PROMPT_LOOKUP, PromptLookupDrafter } from './promptLookup';

const PREFIX = `${PROMPT_LOOKUP}+`;

export class LookupThenModelDrafter implements Drafter {
  readonly name: string;
  private readonly lookup = new PromptLookupDrafter();
  constructor(private readonly model: Drafter) {
    this.name = `${PREFIX}${model.name}`;
  }
  get secondsPerCall(): number {
    return this.model.secondsPerCall;
  }
  async draft(context: readonly number[], gamma: number, policy: DraftPolicy): Promise<Drafts> {
    const found = await this.lookup.draft(context, gamma);
    return found.tokens.length > 0 ? found : this.model.draft(context, gamma, policy);
  }
  reset(): void {
    this.model.reset();
  }
}

export const LOOKUP_THEN_MODEL_KIND: DrafterKind<{ readonly kind: 'lookup-then-model'; readonly model: string }> = {
  kind: 'lookup-then-model',
  usage: `${PREFIX}<model>`,
  needsModel: true,
  loadsRecommended: false,
  candidate: true,
  verified: true,
  fallback: false,
  parse: (name) => (name.startsWith(PREFIX) ? { kind: 'lookup-then-model', model: name.slice(PREFIX.length) } : undefined),
  spec: (model) => ({ kind: 'lookup-then-model', model }),
  format: (s) => `${PREFIX}${s.model}`,
  describe: (s) => `prompt lookup, then ${s.model}`,
  make: (s, ctx) => new LookupThenModelDrafter(ctx.model(s.model)),
};
