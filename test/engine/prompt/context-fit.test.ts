/** How a completion and its prompt share the target's context (src/engine/prompt/contextFit.ts). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CONTEXT_RESERVE, DEFAULT_PROMPT_TOKENS, MIN_PROMPT_TOKENS, fitContext } from '../../../src/engine/prompt/contextFit';

/** The engine's rule before contextFit: maxTokens as asked, the prompt whatever was left (8 at least). */
function oldPromptBudget(maxPositions: number, maxTokens: number, prompt = 1024): number {
  return Math.max(8, Math.min(prompt, maxPositions - maxTokens - 16));
}

test('maxTokens 4096 on a 512-position model: capped at half the context, the prompt keeps the rest, one message', () => {
  const old = oldPromptBudget(512, 4096, 1024);
  assert.equal(old, 8, 'the old rule left 8 prompt tokens');
  const fit = fitContext(512, 4096, 1024);
  assert.equal(fit.maxTokens, 256);
  assert.equal(fit.promptTokens, 512 - 256 - CONTEXT_RESERVE);
  assert.ok(fit.message);
  assert.match(fit.message, /maxTokens 4096/);
  assert.match(fit.message, /512 positions/);
  assert.match(fit.message, /capped at 256 tokens/);
  assert.match(fit.message, /240 tokens for the prompt/);
});

test('settings that fit are left alone and give the prompt budget of the old rule (no completion changes)', () => {
  for (const [P, m, c] of [[512, 64, 1024], [512, 256, 1024], [512, 1, 64], [32768, 4096, 8192], [2048, 1024, 2048], [4096, 64, undefined]] as const) {
    const fit = fitContext(P, m, c);
    assert.equal(fit.maxTokens, m);
    assert.equal(fit.promptTokens, oldPromptBudget(P, m, c ?? 1024), `${P} ${m} ${c}`);
    assert.equal(fit.message, undefined);
  }
  assert.equal(fitContext(512, 64).promptTokens, Math.min(DEFAULT_PROMPT_TOKENS, 512 - 64 - CONTEXT_RESERVE));
});

test('the rule holds over a grid: completion ≤ half, prompt = min(asked, rest), message exactly when capped', () => {
  for (const P of [20, 48, 64, 100, 512, 513, 1024, 2048, 4096, 16384, 32768, 131072]) {
    for (const m of [1, 2, 63, 64, 255, 256, 257, 1000, 2048, 4096]) {
      for (const c of [64, 100, 512, 1024, 4096, 32768]) {
        const fit = fitContext(P, m, c);
        const half = Math.floor(P / 2);
        assert.equal(fit.maxTokens, Math.min(m, half), `P ${P} m ${m}`);
        assert.equal(fit.promptTokens, Math.max(MIN_PROMPT_TOKENS, Math.min(c, P - fit.maxTokens - CONTEXT_RESERVE)));
        assert.ok(fit.promptTokens >= Math.min(c, P - half - CONTEXT_RESERVE), 'the prompt keeps at least the rest');
        if (P >= 2 * (MIN_PROMPT_TOKENS + CONTEXT_RESERVE)) assert.ok(fit.maxTokens + fit.promptTokens + CONTEXT_RESERVE <= P, 'fits the context');
        assert.equal(fit.message !== undefined, m > half);
      }
    }
  }
});
