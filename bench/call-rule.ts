/**
 * The cost of the GPU exactness rule (src/engine/runtime/device.ts): every target call starts at a multiple of 4 (re-feeding
 * up to 3 cached tokens) and carries a multiple of 4 tokens. Measured on the CPU provider with the rule forced,
 * against the CPU's own rule (≥ 2 tokens per call): both are exact there, so the texts must be identical and only the
 * time differs. Interleaved per prompt, one intra-op thread; a GPU provider's figures come from `lockstep bench speed
 * --device <name>` on a machine that has one.
 *   npx tsc -p . && node out/bench/call-rule.js [--prompts 16] [--max-tokens 48]
 */
import * as path from 'node:path';
import { CompletionRequest, Engine } from '../src/engine/process/engine';
import { heldoutPrompts } from './common';

const ROOT = path.join(__dirname, '..', '..');
const RULES = { cpu: {}, 'gpu rule': { align: 4, tokenMultiple: 4, minTokensPerCall: 4 } };

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const prompts = heldoutPrompts(option('prompts', 16), 3);
  const maxTokens = option('max-tokens', 48);
  const engines = new Map<string, Engine>();
  for (const [name, callRule] of Object.entries(RULES)) {
    engines.set(name, await Engine.create({
      target: path.join(ROOT, 'models', 'lockstep-target'), threads: 1, callRule,
      drafters: [{ name: 'lockstep-drafter-b', dir: path.join(ROOT, 'models', 'lockstep-drafter-b') }],
    }));
  }
  const names = [...engines.keys()];
  console.log(`${prompts.length} held-out prompts × ${maxTokens} tokens, T = 0.2, γ auto, 1 thread`);
  console.log(`drafter | ${names.map((n) => `${n} tokens/s`).join(' | ')} | time ratio | identical texts`);
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
    console.log(`${drafter} | ${tps.map((t) => t.toFixed(1)).join(' | ')} | ` +
      `${(seconds.get('gpu rule')! / seconds.get('cpu')!).toFixed(3)} | ${identical}/${prompts.length}`);
  }
  for (const e of engines.values()) await e.dispose();
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
