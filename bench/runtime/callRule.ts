/**
 * `lockstep bench call-rule`: the cost of the GPU exactness rule (src/engine/runtime/device.ts): every target call
 * starts at a multiple of 4 (re-feeding up to 3 cached tokens) and carries a multiple of 4 tokens. Measured on the CPU
 * provider with the rule forced, against the CPU's own rule (≥ 2 tokens per call): both are exact there, so the texts
 * must be identical and only the time differs. Interleaved per prompt, one intra-op thread; a GPU provider's figures
 * come from `lockstep bench speed --device <name>` on a machine that has one.
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { CompletionRequest, Engine } from '../../src/engine/process/engine';
import { packageRoot } from '../../src/models/catalog';
import { type MeasureCommand, heldoutPrompts } from '../common';

const RULES = { cpu: {}, 'gpu rule': { align: 4, tokenMultiple: 4, minTokensPerCall: 4 } };

const options = {
  prompts: A.single(A.positiveInt, 'N', 'held-out prompts (default 16)'),
  'max-tokens': A.single(A.maxTokens, 'N', 'tokens per completion (default 48)'),
};

export const callRule: MeasureCommand<typeof options> = {
  usage: '[--prompts N] [--max-tokens N]',
  about: 'The cost of the GPU exactness rule (calls aligned to and sized in multiples of 4), forced on the CPU provider\n' +
    'against the CPU\'s own rule: tokens/s of each, their time ratio and whether the texts are identical, per drafter.',
  options,
  async run(o, positionals, io) {
    if (positionals.length > 0) throw new A.UsageError(`bench call-rule takes no arguments (got '${positionals[0]}')`);
    const prompts = heldoutPrompts(o.prompts ?? 16, 3);
    const maxTokens = o['max-tokens'] ?? 48;
    const models = path.join(packageRoot(), 'models');
    const engines = new Map<string, Engine>();
    for (const [name, callRule] of Object.entries(RULES)) {
      engines.set(name, await Engine.create({
        target: path.join(models, 'lockstep-target'), threads: 1, callRule,
        drafters: [{ name: 'lockstep-drafter-b', dir: path.join(models, 'lockstep-drafter-b') }],
      }));
    }
    try {
      const names = [...engines.keys()];
      io.stdout(`${prompts.length} held-out prompts × ${maxTokens} tokens, T = 0.2, γ auto, 1 thread\n`);
      io.stdout(`drafter | ${names.map((n) => `${n} tokens/s`).join(' | ')} | time ratio | identical texts\n`);
      for (const drafter of ['none', 'prompt-lookup', 'lockstep-drafter-b']) {
        const seconds = new Map(names.map((n) => [n, 0]));
        const tokens = new Map(names.map((n) => [n, 0]));
        let identical = 0;
        for (const [i, p] of prompts.entries()) {
          const req: CompletionRequest = {
            before: p.before, after: p.after, drafter, coupling: 'gumbel', seed: i,
            sampling: { temperature: 0.2, topK: 0, topP: 1 }, gamma: 'auto', maxTokens, mode: 'free',
          };
          const texts: string[] = [];
          // alternate the order so that neither rule always runs second
          for (const n of i % 2 === 0 ? names : [...names].reverse()) {
            const r = await engines.get(n)!.complete(req);
            seconds.set(n, seconds.get(n)! + r.seconds - r.prefillSeconds);
            tokens.set(n, tokens.get(n)! + r.tokens);
            texts.push(r.text);
          }
          if (texts.every((t) => t === texts[0])) identical++;
        }
        const tps = names.map((n) => tokens.get(n)! / seconds.get(n)!);
        io.stdout(`${drafter} | ${tps.map((t) => t.toFixed(1)).join(' | ')} | ` +
          `${(seconds.get('gpu rule')! / seconds.get('cpu')!).toFixed(3)} | ${identical}/${prompts.length}\n`);
      }
    } finally {
      for (const e of engines.values()) await e.dispose();
    }
  },
};
