/** The completion cache (src/vscode/cache.ts): typing along a suggestion keeps showing its remainder. */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CompletionCache } from '../src/vscode/cache';

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

  test('the context compared is the end of the text before the cursor (long documents)', () => {
    const c = new CompletionCache({ contextChars: 16 });
    const head = 'x'.repeat(1000);
    c.put(DOC, FP, `${head}const y = `, '', 'compute();', null);
    // The window's far start moved (a bounded window while typing): still a hit.
    assert.equal(c.lookup(DOC, FP, `${head.slice(5)}const y = comp`, '')?.remainder, 'ute();');
    // But a change near the cursor is a miss.
    assert.equal(c.lookup(DOC, FP, `${head}const z = comp`, ''), undefined);
  });

  test('at the start of a document the whole text before must match', () => {
    const c = new CompletionCache({ contextChars: 100 });
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

  test('a long text after the cursor is compared on its head', () => {
    const c = new CompletionCache({ afterChars: 8 });
    c.put(DOC, FP, 'x = ', '\n}\nfunction g() {}', '1;', null);
    assert.ok(c.lookup(DOC, FP, 'x = ', '\n}\nfunction h() {}'));
    assert.equal(c.lookup(DOC, FP, 'x = ', '\n}'), undefined);
  });
});
