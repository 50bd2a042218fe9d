/** The completion cache (src/vscode/cache.ts): typing along a suggestion keeps showing its remainder. */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CompletionCache } from '../../src/vscode/cache';
import { type CursorPosition, extractWindow, linesOf, lookupBefore, windowChars } from '../../src/vscode/prompt';

const DOC = 'file:///a.js';
const FP = 'seed=1';

describe('CompletionCache', () => {
  test('the same place again returns the whole completion', () => {
    const c = new CompletionCache<string>();
    c.put(DOC, FP, 'function f() {\n  return ', '\n}', 'a + b;', 'meta');
    const hit = c.lookup(DOC, FP, 'function f() {\n  return ', '\n}');
    assert.deepEqual(hit, { remainder: 'a + b;', typed: '', text: 'a + b;', meta: 'meta' });
  });

  test('typing along the suggestion returns the rest, character by character', () => {
    const c = new CompletionCache();
    const before = 'const total = ';
    const text = 'items.reduce((s, x) => s + x, 0);';
    c.put(DOC, FP, before, '\n', text, null);
    for (let k = 0; k < text.length; k++) {
      const hit = c.lookup(DOC, FP, before + text.slice(0, k), '\n');
      assert.ok(hit, `no hit after typing ${k} characters`);
      assert.equal(hit.remainder, text.slice(k));
      assert.equal(hit.typed, text.slice(0, k));
    }
    // All of it typed: nothing left to show.
    assert.equal(c.lookup(DOC, FP, before + text, '\n'), undefined);
  });

  test('multi-line completions survive typed newlines', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'if (x) {', '\n}', '\n  run();\n  stop();', null);
    assert.equal(c.lookup(DOC, FP, 'if (x) {\n  run();\n', '\n}')?.remainder, '  stop();');
  });

  test('typing something else misses', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'let x = ', ';', 'foo()', null);
    assert.equal(c.lookup(DOC, FP, 'let x = fa', ';'), undefined);
    assert.equal(c.lookup(DOC, FP, 'let x = f', ';')?.remainder, 'oo()');
    // Deleting before the generation point misses too.
    assert.equal(c.lookup(DOC, FP, 'let x =', ';'), undefined);
  });

  test('other documents, other settings, or changed text after the cursor miss', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'a = ', '\nb', '42', null);
    assert.equal(c.lookup('file:///b.js', FP, 'a = ', '\nb'), undefined);
    assert.equal(c.lookup(DOC, 'seed=2', 'a = ', '\nb'), undefined);
    assert.equal(c.lookup(DOC, FP, 'a = ', '\nc'), undefined);
    assert.ok(c.lookup(DOC, FP, 'a = ', '\nb'));
  });

  test('the whole text before the generation point is compared, not its end', () => {
    const c = new CompletionCache();
    const head = 'x'.repeat(1000);
    c.put(DOC, FP, `${head}const y = `, '', 'compute();', null);
    assert.equal(c.lookup(DOC, FP, `${head}const y = comp`, '')?.remainder, 'ute();');
    // One character changed 1 000 characters above: a miss (the old cache compared the last 512 only).
    assert.equal(c.lookup(DOC, FP, `y${head.slice(1)}const y = comp`, ''), undefined);
    assert.equal(c.lookup(DOC, FP, `${head}const z = comp`, ''), undefined);
    // The window reached the start of the document: text above it now is a change too.
    assert.equal(c.lookup(DOC, FP, `// new\n${head}const y = comp`, ''), undefined);
  });

  test('a cut window (long document) must be the end of the text before the typed part, whole', () => {
    const c = new CompletionCache();
    const window = `${'a'.repeat(100)}\nlet v = `;
    c.put(DOC, FP, window, ';', 'f(1)', null, true);
    // The caller passes more text above the window (lookBehind): typing moved the window's start up.
    assert.equal(c.lookBehind(DOC), 4);
    assert.equal(c.lookBehind('file:///other.js'), 0);
    assert.equal(c.lookup(DOC, FP, `above${window}f(`, ';')?.remainder, '1)');
    assert.equal(c.lookup(DOC, FP, `${window}f`, ';')?.remainder, '(1)');
    // Anything in the window changed, or too little text given to compare the window whole: a miss.
    assert.equal(c.lookup(DOC, FP, `above${window.replace('aaaa', 'abaa')}f(`, ';'), undefined);
    assert.equal(c.lookup(DOC, FP, `${window.slice(2)}f(`, ';'), undefined);
  });

  test('at the start of a document the whole text before must match', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'ab', '', 'cd', null);
    assert.equal(c.lookup(DOC, FP, 'ab', '')?.remainder, 'cd');
    assert.equal(c.lookup(DOC, FP, 'xab', ''), undefined);
    assert.equal(c.lookup(DOC, FP, 'abc', '')?.remainder, 'd');
  });

  test('a repeated completion string is matched at the right place', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'aa', '', 'aaaa', null);
    assert.equal(c.lookup(DOC, FP, 'aaa', '')?.remainder, 'aaa');
    assert.equal(c.lookup(DOC, FP, 'aaaaa', '')?.remainder, 'a');
  });

  test('empty completions are not kept; capacity drops the oldest', () => {
    const c = new CompletionCache({ capacity: 2 });
    c.put(DOC, FP, 'a', '', '', null);
    assert.equal(c.size, 0);
    c.put(DOC, FP, 'a', '', '1', null);
    c.put(DOC, FP, 'b', '', '2', null);
    c.put(DOC, FP, 'c', '', '3', null);
    assert.equal(c.size, 2);
    assert.equal(c.lookup(DOC, FP, 'a', ''), undefined);
    assert.ok(c.lookup(DOC, FP, 'c', ''));
  });

  test('the same place replaces the older entry; the newest wins', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'x = ', '', 'old', null);
    c.put(DOC, FP, 'x = ', '', 'new', null);
    assert.equal(c.size, 1);
    assert.equal(c.lookup(DOC, FP, 'x = ', '')?.text, 'new');
  });

  test('clear(doc) forgets one document', () => {
    const c = new CompletionCache();
    c.put(DOC, FP, 'x', '', '1', null);
    c.put('file:///b.js', FP, 'x', '', '2', null);
    c.clear(DOC);
    assert.equal(c.lookup(DOC, FP, 'x', ''), undefined);
    assert.ok(c.lookup('file:///b.js', FP, 'x', ''));
    c.clear();
    assert.equal(c.size, 0);
  });

  test('the whole text after the cursor is compared, not its head', () => {
    const c = new CompletionCache();
    const tail = `\n}\n${'// filler\n'.repeat(600)}function g() {}`;
    c.put(DOC, FP, 'x = ', tail, '1;', null);
    assert.ok(c.lookup(DOC, FP, 'x = ', tail));
    assert.equal(c.lookup(DOC, FP, 'x = ', tail.replace('function g', 'function h')), undefined);
    assert.equal(c.lookup(DOC, FP, 'x = ', tail.slice(0, -1)), undefined);
    assert.equal(c.lookup(DOC, FP, 'x = ', '\n}'), undefined);
  });
});

/**
 * The provider's use of the cache on a long document: the prompt window of the default contextTokens (8 192
 * characters each side), lookupBefore to widen it by what may have been typed, put() after a generation.
 */
describe('CompletionCache keyed on the whole prompt window (as the provider uses it)', () => {
  const LIMITS = windowChars(1024);
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 30_000; i++) lines.push(`  const value${i} = combine(value${i - 1}, ${i * 7}); // step ${i}`);
  const CURSOR_LINE = Math.floor(lines.length / 2);
  lines[CURSOR_LINE] = '  const result = ';
  const TEXT = lines.join('\n');
  const CURSOR = TEXT.indexOf('const result = ') + 'const result = '.length;
  const COMPLETION = 'combine(value1, value2);\n  return result;';

  function cursorAt(text: string, offset: number): CursorPosition {
    const head = text.slice(0, offset).split('\n');
    return { line: head.length - 1, character: head[head.length - 1].length };
  }

  /** What the provider does at `offset` in `text`: the window, the lookup (and on a miss, optionally, the put). */
  function provide(c: CompletionCache<null>, text: string, offset: number, generated?: string): string | undefined {
    const doc = linesOf(text);
    const pos = cursorAt(text, offset);
    const win = extractWindow(doc, pos, LIMITS);
    const hit = c.lookup(DOC, FP, lookupBefore(doc, pos, LIMITS, win, c.lookBehind(DOC)), win.after);
    if (hit) return hit.remainder;
    if (generated !== undefined) c.put(DOC, FP, win.before, win.after, generated, null, win.truncatedBefore);
    return undefined;
  }

  /** `text` with the identifier at the first `valueN` starting at least `distance` characters before the cursor renamed. */
  function renameAbove(distance: number): string {
    const m = /value(\d+)/g;
    m.lastIndex = CURSOR - distance - 40;
    const found = m.exec(TEXT)!;
    assert.ok(found.index <= CURSOR - distance + 40 && found.index >= CURSOR - distance - 40);
    return TEXT.slice(0, found.index) + `renamed${found[1]}` + TEXT.slice(found.index + found[0].length);
  }

  function fresh(): CompletionCache<null> {
    const c = new CompletionCache<null>();
    assert.equal(provide(c, TEXT, CURSOR, COMPLETION), undefined);
    assert.equal(provide(c, TEXT, CURSOR), COMPLETION);
    return c;
  }

  test('the window is cut on both sides (the test needs a long document)', () => {
    const win = extractWindow(linesOf(TEXT), cursorAt(TEXT, CURSOR), LIMITS);
    assert.ok(win.truncatedBefore && win.truncatedAfter);
    assert.equal(win.before.length, LIMITS.maxBeforeChars);
  });

  for (const distance of [1000, 5000]) {
    test(`renaming an identifier ${distance} characters above the cursor is a miss`, () => {
      const c = fresh();
      const renamed = renameAbove(distance);
      const offset = CURSOR + (renamed.length - TEXT.length);
      assert.equal(renamed.slice(offset - 15, offset), 'const result = ');
      assert.equal(provide(c, renamed, offset), undefined);
      // Typing along after the rename misses too.
      const typed = renamed.slice(0, offset) + COMPLETION.slice(0, 4) + renamed.slice(offset);
      assert.equal(provide(c, typed, offset + 4), undefined);
    });
  }

  test('an edit 5 000 characters below the cursor is a miss', () => {
    const c = fresh();
    const i = TEXT.indexOf('combine', CURSOR + 5000);
    assert.equal(provide(c, `${TEXT.slice(0, i)}merge${TEXT.slice(i + 'combine'.length)}`, CURSOR), undefined);
  });

  test('an edit above the window (text the engine is not given) is still a hit', () => {
    const c = fresh();
    const i = CURSOR - LIMITS.maxBeforeChars - 500;
    assert.ok(i > 0);
    assert.equal(provide(c, `${TEXT.slice(0, i)}// note\n${TEXT.slice(i)}`, CURSOR + 8), COMPLETION);
  });

  test('typing along the suggestion in a long document: a hit at every character, multi-line included', () => {
    const c = fresh();
    for (let k = 1; k < COMPLETION.length; k++) {
      const typed = TEXT.slice(0, CURSOR) + COMPLETION.slice(0, k) + TEXT.slice(CURSOR);
      assert.equal(provide(c, typed, CURSOR + k), COMPLETION.slice(k), `after typing ${k} characters`);
    }
    // Typing something else misses.
    assert.equal(provide(c, `${TEXT.slice(0, CURSOR)}combX${TEXT.slice(CURSOR)}`, CURSOR + 5), undefined);
  });
});
