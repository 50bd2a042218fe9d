/**
 * Drafter invariance, the product's promise: for a fixed (prompt, seed, settings) the completion is byte-identical
 * whatever drafter, γ or thread count is used. 240 (prompt, seed) cases from held-out code, spread over
 * temperatures {0, 0.2, 0.7, 1.0}, drafters {prompt-lookup, drafter A, drafter B, lookup+B}, γ {1, 3, 6, auto} and
 * couplings {gumbel, wmh}; each compared with the no-drafter completion. Reference runs use 1 intra-op thread; the
 * drafted runs alternate between engines with 1 and 2 threads. The full cross product runs from `lockstep verify`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompletionRequest, Engine } from '../../../src/engine/process/engine';
import { INVARIANT_COUPLINGS } from '../../../src/engine/decode/couplings/registry';
import { heldOutPrompts } from '../../helpers/prompts';
import { DRAFTER_A_DIR, DRAFTER_B_DIR, TARGET_DIR } from '../../helpers/models';

const TEMPERATURES = [0, 0.2, 0.7, 1.0];
const DRAFTERS = ['prompt-lookup', 'drafter-a', 'drafter-b', 'prompt-lookup+drafter-b'];
const GAMMAS: Array<number | 'auto'> = [1, 3, 6, 'auto'];
const COUPLINGS = INVARIANT_COUPLINGS;
const CASES = 240;

async function makeEngine(threads: number): Promise<Engine> {
  return Engine.create({
    target: TARGET_DIR,
    threads,
    drafters: [
      { name: 'drafter-a', dir: DRAFTER_A_DIR },
      { name: 'drafter-b', dir: DRAFTER_B_DIR },
    ],
  });
}

test(`completions are byte-identical to the no-drafter completion (${CASES} cases, threads 1 and 2)`, async () => {
  const one = await makeEngine(1);
  const two = await makeEngine(2);
  const prompts = heldOutPrompts(CASES, 42);
  const mismatches: string[] = [];
  let nonEmpty = 0;
  let drafted = 0;
  let accepted = 0;
  for (let c = 0; c < CASES; c++) {
    // spread the settings so that every value of each axis meets many of the others
    const temperature = TEMPERATURES[c % 4];
    const drafter = DRAFTERS[Math.floor(c / 4) % 4];
    const gamma = GAMMAS[Math.floor(c / 16) % 4];
    const coupling = COUPLINGS[Math.floor(c / 2) % COUPLINGS.length];
    const base: CompletionRequest = {
      before: prompts[c].before, after: prompts[c].after, drafter: 'none', coupling, seed: c * 7919,
      sampling: { temperature, topK: c % 5 === 0 ? 20 : 0, topP: c % 3 === 0 ? 0.9 : 1 },
      gamma: 1, maxTokens: 24, mode: 'free',
    };
    const ref = await one.complete(base);
    const engine = c % 2 === 0 ? two : one;
    const got = await engine.complete({ ...base, drafter, gamma });
    drafted += got.drafted;
    accepted += got.accepted;
    if (ref.text.length > 0) nonEmpty++;
    if (Buffer.compare(Buffer.from(got.text), Buffer.from(ref.text)) !== 0 || got.tokens !== ref.tokens) {
      mismatches.push(`case ${c} (${prompts[c].file}, T=${temperature}, ${coupling}, ${drafter}, γ=${gamma}): ` +
        `${JSON.stringify(ref.text)} vs ${JSON.stringify(got.text)}`);
    }
  }
  await one.dispose();
  await two.dispose();
  assert.deepEqual(mismatches, []);
  // the test must exercise real speculation: drafts were made and many accepted, completions were not empty
  assert.ok(drafted > 1000, `drafted ${drafted}`);
  // (the shipped drafters accept ~20 % of drafts over this mix of γ up to 8; a floor, not a speed claim)
  assert.ok(accepted > 500 && accepted > drafted * 0.1, `accepted ${accepted} of ${drafted}`);
  assert.ok(nonEmpty > CASES * 0.8, `${nonEmpty} non-empty completions`);
});

test('standard speculative sampling is the non-invariant reference: its text can depend on the drafter', async () => {
  const e = await makeEngine(1);
  const prompts = heldOutPrompts(30, 9);
  let differ = 0;
  for (let c = 0; c < prompts.length; c++) {
    const base: CompletionRequest = {
      before: prompts[c].before, after: prompts[c].after, drafter: 'none', coupling: 'standard', seed: c,
      sampling: { temperature: 1, topK: 0, topP: 1 }, gamma: 4, maxTokens: 24, mode: 'free',
    };
    const a = await e.complete(base);
    const b = await e.complete({ ...base, drafter: 'drafter-a' });
    if (a.text !== b.text) differ++;
  }
  await e.dispose();
  assert.ok(differ > 0, 'standard speculative sampling never differed across drafters at T = 1');
});
