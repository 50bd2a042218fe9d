/**
 * The extension's one request builder (src/vscode/request.ts) and the completion cache's key (cacheKey in
 * src/vscode/cache.ts): the request is made of the window, the settings, the seed, the drafter and the snippets; the
 * cache keys all of it but the window (compared by the cache itself) and the drafter under the invariant couplings.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CompletionCache, cacheKey, type CacheScope } from '../../src/vscode/cache';
import { extractWindow, linesOf, windowChars, type CursorPosition } from '../../src/vscode/prompt';
import { buildCompletionRequest, type RequestInputs } from '../../src/vscode/request';
import { DEFAULT_SETTINGS, type LockstepSettings } from '../../src/vscode/settings';

const DOC = 'file:///a.js';
const SCOPE: CacheScope = { target: '/models/t', variant: 'q4', multiline: 'auto' };

function inputs(text: string, pos: CursorPosition, settings: LockstepSettings = DEFAULT_SETTINGS, more: Partial<RequestInputs> = {}): RequestInputs {
  return { window: extractWindow(linesOf(text), pos, windowChars(settings.contextTokens)), settings, seed: 1, drafter: 'prompt-lookup', ...more };
}

describe('buildCompletionRequest', () => {
  test('the whole request from the window, the settings, the seed, the drafter and the snippets', () => {
    const context = { path: 'a.js', repoName: 'r', snippets: [{ path: 'b.js', text: 'export const b = 1;' }], budgetTokens: 128 };
    const s: LockstepSettings = { ...DEFAULT_SETTINGS, coupling: 'wmh', temperature: 0.5, topP: 0.9, topK: 7, draftTokens: 3, maxTokens: 99, contextTokens: 512 };
    const req = buildCompletionRequest(inputs('const x = f(\n', { line: 0, character: 12 }, s, { seed: 42, drafter: 'none', context }));
    assert.deepEqual(req, {
      context,
      before: 'const x = f(',
      after: '\n',
      drafter: 'none',
      coupling: 'wmh',
      seed: 42,
      sampling: { temperature: 0.5, topP: 0.9, topK: 7 },
      gamma: 3,
      maxTokens: 99,
      mode: 'block',
      maxPromptTokens: 512,
    });
    // No snippets: no context field at all (the plain FIM prompt).
    assert.equal('context' in buildCompletionRequest(inputs('let y = ', { line: 0, character: 8 })), false);
  });

  test('the mode follows the cursor line and the multiline setting', () => {
    assert.equal(buildCompletionRequest(inputs('let y = ', { line: 0, character: 8 })).mode, 'line');
    assert.equal(buildCompletionRequest(inputs('  \n', { line: 0, character: 2 })).mode, 'block');
    const never = { ...DEFAULT_SETTINGS, multiline: 'never' as const };
    assert.equal(buildCompletionRequest(inputs('  \n', { line: 0, character: 2 }, never)).mode, 'line');
  });
});

describe('cacheKey', () => {
  const at = (text: string, pos: CursorPosition, more: Partial<RequestInputs> = {}, s = DEFAULT_SETTINGS) => buildCompletionRequest(inputs(text, pos, s, more));

  test('typing along a block completion is a hit though the cursor line now chooses line', () => {
    const c = new CompletionCache<null>();
    const text = 'function f() {\n  \n}';
    const first = at(text, { line: 1, character: 2 });
    assert.equal(first.mode, 'block');
    c.put(DOC, cacheKey(first, SCOPE), first.before, first.after, 'return 1;\n  }', null);
    const typed = at('function f() {\n  ret\n}', { line: 1, character: 5 });
    assert.equal(typed.mode, 'line');
    assert.equal(c.lookup(DOC, cacheKey(typed, SCOPE), typed.before, typed.after)?.remainder, 'urn 1;\n  }');
  });

  test('another drafter or γ is the same completion under the invariant couplings, not under standard', () => {
    const req = at('let y = ', { line: 0, character: 8 });
    assert.equal(cacheKey({ ...req, drafter: 'none', gamma: 9 }, SCOPE), cacheKey(req, SCOPE));
    const std = { ...req, coupling: 'standard' as const };
    assert.notEqual(cacheKey({ ...std, drafter: 'none' }, SCOPE), cacheKey(std, SCOPE));
    assert.notEqual(cacheKey({ ...std, gamma: 9 }, SCOPE), cacheKey(std, SCOPE));
  });

  test('the seed, the sampling, the snippets, the target, its variant and the multiline setting are keyed', () => {
    const req = at('let y = ', { line: 0, character: 8 });
    const base = cacheKey(req, SCOPE);
    const context = { path: 'a.js', repoName: 'r', snippets: [{ path: 'b.js', text: 'b' }], budgetTokens: 128 };
    for (const other of [
      cacheKey({ ...req, seed: 2 }, SCOPE),
      cacheKey({ ...req, sampling: { ...req.sampling, topK: 5 } }, SCOPE),
      cacheKey({ ...req, maxTokens: req.maxTokens + 1 }, SCOPE),
      cacheKey({ ...req, maxPromptTokens: 2048 }, SCOPE),
      cacheKey({ ...req, context }, SCOPE),
      cacheKey(req, { ...SCOPE, target: '/models/u' }),
      cacheKey(req, { ...SCOPE, variant: 'fp32' }),
      cacheKey(req, { ...SCOPE, multiline: 'always' }),
    ]) assert.notEqual(other, base);
    // The window is not: the cache compares it itself.
    assert.equal(cacheKey({ ...req, before: 'x', after: 'y', mode: 'block' }, SCOPE), base);
  });
});
