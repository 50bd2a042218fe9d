import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { PromptLookupDrafter } from '../../../src/engine/decode/drafters/promptLookup';
import { chooseGamma, predictedSpeedup } from '../../../src/engine/decode/decode';
import { CompletionRequest, Engine } from '../../../src/engine/process/engine';
import { heldOutPrompts } from '../../helpers/prompts';
import { DRAFTER_B_DIR, TARGET_DIR } from '../../helpers/models';


test('prompt lookup proposes the continuation of the most recent earlier match of the last n-gram', async () => {
  const d = new PromptLookupDrafter(3, 2);
  // ... 5 6 7 8 9 ... 5 6 7 1 2 ... | 5 6 7  → most recent match of [5 6 7] is followed by 1 2
  const ctx = [1, 5, 6, 7, 8, 9, 3, 5, 6, 7, 1, 2, 4, 5, 6, 7];
  assert.deepEqual((await d.draft(ctx, 2)).tokens, [1, 2]);
  assert.deepEqual((await d.draft(ctx, 10)).tokens, [1, 2, 4, 5, 6, 7]);
  // falls back to a shorter n-gram
  assert.deepEqual((await d.draft([9, 4, 2, 3, 8, 2, 3], 3)).tokens, [8, 2, 3]);
  // no match → no drafts
  assert.deepEqual((await d.draft([1, 2, 3, 4], 3)).tokens, []);
});

test('adaptive γ follows the predicted speedup (Leviathan et al. 2023, eq. for expected walltime)', () => {
  assert.ok(Math.abs(predictedSpeedup(0.8, 4, 0) - (1 - 0.8 ** 5) / 0.2) < 1e-12);
  assert.ok(Math.abs(predictedSpeedup(0.5, 2, 0.5) - 0.875 / (0.5 * 2)) < 1e-12);
  assert.equal(chooseGamma(0.95, 0.02, 8), 8);
  assert.equal(chooseGamma(0.1, 0.5, 8), 1);
  const g = chooseGamma(0.7, 0.2, 8);
  assert.ok(g >= 2 && g <= 5, `γ = ${g}`);
});

function request(before: string, after: string, over: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    before, after, drafter: 'none', coupling: 'gumbel', seed: 1, sampling: { temperature: 0.7, topK: 0, topP: 1 },
    gamma: 3, maxTokens: 32, mode: 'free', ...over,
  };
}

test('a fixed seed reproduces the completion; other seeds can change it', async () => {
  const e = await Engine.create({ target: TARGET_DIR, threads: 1 });
  const p = heldOutPrompts(6, 3);
  let changed = 0;
  for (const c of p) {
    const a = await e.complete(request(c.before, c.after, { seed: 5, sampling: { temperature: 1, topK: 0, topP: 1 } }));
    e.resetCaches();
    const b = await e.complete(request(c.before, c.after, { seed: 5, sampling: { temperature: 1, topK: 0, topP: 1 } }));
    assert.equal(b.text, a.text);
    const other = await e.complete(request(c.before, c.after, { seed: 6, sampling: { temperature: 1, topK: 0, topP: 1 } }));
    if (other.text !== a.text) changed++;
  }
  assert.ok(changed > 0, 'no seed changed any completion at T = 1');
  await e.dispose();
});

test('the completion stops at the token budget and at end-of-text', async () => {
  const e = await Engine.create({ target: TARGET_DIR, threads: 1 });
  const [c] = heldOutPrompts(1, 8);
  const r = await e.complete(request(c.before, c.after, { maxTokens: 5 }));
  assert.ok(r.tokens <= 5);
  assert.equal(r.stopReason === 'maxTokens' || r.stopReason === 'eos' || r.stopReason === 'suffix', true, r.stopReason);
  await e.dispose();
});

test('cancellation takes effect between model calls', async () => {
  const e = await Engine.create({ target: TARGET_DIR, threads: 1 });
  const [c] = heldOutPrompts(1, 2);
  let polls = 0;
  const signal = { get cancelled(): boolean { return ++polls > 3; } };
  const r = await e.complete(request(c.before, c.after, { maxTokens: 200, drafter: 'none' }), signal);
  assert.equal(r.cancelled, true);
  assert.equal(r.stopReason, 'cancelled');
  assert.ok(r.targetCalls <= 4, `target calls after cancel: ${r.targetCalls}`);
  await e.dispose();
});

test('an unknown drafter and a drafter with another vocabulary are refused', async () => {
  const e = await Engine.create({ target: TARGET_DIR, threads: 1 });
  await assert.rejects(e.complete(request('a', 'b', { drafter: 'nope' })), /unknown drafter "nope"/);
  await e.dispose();
});
