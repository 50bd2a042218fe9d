/** The prompt window around the cursor and the line/block choice (src/vscode/prompt.ts). */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { chooseMode, extractWindow, linesOf, lookupBefore, windowChars, type TextLines } from '../../src/vscode/prompt';

const BIG = { maxBeforeChars: 1e9, maxAfterChars: 1e9 };

/** The cursor given as a '|' in the text. */
function at(textWithCursor: string): { doc: TextLines; line: number; character: number; before: string; after: string } {
  const i = textWithCursor.indexOf('|');
  const text = textWithCursor.slice(0, i) + textWithCursor.slice(i + 1);
  const before = text.slice(0, i);
  const line = before.split('\n').length - 1;
  const character = before.length - (before.lastIndexOf('\n') + 1);
  return { doc: linesOf(text), line, character, before, after: text.slice(i) };
}

describe('extractWindow', () => {
  test('a small document: everything before and after the cursor', () => {
    const c = at('function add(a, b) {\n  return a |+ b;\n}\n');
    const w = extractWindow(c.doc, c, BIG);
    assert.equal(w.before, c.before);
    assert.equal(w.after, c.after);
    assert.equal(w.truncatedBefore, false);
    assert.equal(w.truncatedAfter, false);
    assert.equal(w.linePrefix, '  return a ');
    assert.equal(w.lineSuffix, '+ b;');
    assert.equal(w.previousLine, 'function add(a, b) {');
  });

  test('cursor at the start and at the end of the document', () => {
    let c = at('|const x = 1;\n');
    let w = extractWindow(c.doc, c, BIG);
    assert.equal(w.before, '');
    assert.equal(w.after, 'const x = 1;\n');
    assert.equal(w.previousLine, '');
    c = at('const x = 1;\n|');
    w = extractWindow(c.doc, c, BIG);
    assert.equal(w.before, 'const x = 1;\n');
    assert.equal(w.after, '');
  });

  test('CRLF documents are joined with \\n', () => {
    const doc = linesOf('a\r\nb\r\nc');
    const w = extractWindow(doc, { line: 1, character: 1 }, BIG);
    assert.equal(w.before, 'a\nb');
    assert.equal(w.after, '\nc');
  });

  test('a bounded window: whole lines near the cursor, the far line cut, flags set', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')} xxxxxxxxxx`); // 23 chars
    const doc = linesOf(lines.join('\n'));
    const w = extractWindow(doc, { line: 50, character: 9 }, { maxBeforeChars: 60, maxAfterChars: 40 });
    assert.equal(w.before.length, 60);
    assert.equal(w.after.length, 40);
    assert.ok(w.truncatedBefore && w.truncatedAfter);
    assert.ok(w.before.endsWith('line 049 xxxxxxxxxx\nline 050 '));
    assert.ok(w.after.startsWith('xxxxxxxxxx\nline 051 xxxxxxxxxx\n'));
    // The window is exactly the document's text around the cursor.
    const full = lines.join('\n');
    const offset = lines.slice(0, 50).join('\n').length + 1 + 9;
    assert.equal(w.before, full.slice(offset - 60, offset));
    assert.equal(w.after, full.slice(offset, offset + 40));
  });

  test('a huge document costs lines near the cursor only', () => {
    let reads = 0;
    const doc: TextLines = {
      lineCount: 10_000_000,
      lineAt: (i) => {
        reads++;
        return `    const v${i} = compute(${i});`;
      },
    };
    const w = extractWindow(doc, { line: 5_000_000, character: 4 }, windowChars(1024));
    assert.ok(reads < 2 * (windowChars(1024).maxBeforeChars / 20), `read ${reads} lines`);
    assert.ok(w.truncatedBefore && w.truncatedAfter);
    assert.ok(w.before.length <= windowChars(1024).maxBeforeChars);
  });

  test('a single enormous line is cut around the cursor', () => {
    const line = 'x'.repeat(100_000);
    const w = extractWindow(linesOf(line), { line: 0, character: 50_000 }, { maxBeforeChars: 100, maxAfterChars: 50 });
    assert.equal(w.before.length, 100);
    assert.equal(w.after.length, 50);
    assert.ok(w.truncatedBefore && w.truncatedAfter);
  });

  test('never splits a surrogate pair', () => {
    const doc = linesOf('😀😀😀😀');
    const w = extractWindow(doc, { line: 0, character: 4 }, { maxBeforeChars: 3, maxAfterChars: 3 });
    assert.equal(w.before, '😀');
    assert.equal(w.after, '😀');
    // A cursor inside a pair moves before it.
    const w2 = extractWindow(doc, { line: 0, character: 3 }, BIG);
    assert.equal(w2.before, '😀');
  });

  test('out-of-range positions are clamped', () => {
    const doc = linesOf('ab\ncd');
    assert.equal(extractWindow(doc, { line: 9, character: 9 }, BIG).before, 'ab\ncd');
    assert.equal(extractWindow(doc, { line: -1, character: -1 }, BIG).after, 'ab\ncd');
  });

  test('windowChars scales with the token budget', () => {
    assert.equal(windowChars(1024).maxBeforeChars, 8192);
    assert.equal(windowChars(1).maxBeforeChars, 64 * 8);
  });
});

describe('lookupBefore (the cache\'s view before the cursor)', () => {
  const c = at(`${'line of code\n'.repeat(50)}  let x = |;\n`);
  const limits = { maxBeforeChars: 100, maxAfterChars: 100 };
  const pos = { line: c.line, character: c.character };

  test('a window that was not cut is all there is', () => {
    const win = extractWindow(c.doc, pos, BIG);
    assert.equal(lookupBefore(c.doc, pos, BIG, win, 30), c.before);
  });

  test('a cut window is widened by `extra` characters, and ends with the window', () => {
    const win = extractWindow(c.doc, pos, limits);
    assert.ok(win.truncatedBefore);
    const wide = lookupBefore(c.doc, pos, limits, win, 30);
    assert.equal(wide, c.before.slice(-130));
    assert.ok(wide.endsWith(win.before));
    assert.equal(lookupBefore(c.doc, pos, limits, win, 0), win.before);
    // Wider than the document: all of it.
    assert.equal(lookupBefore(c.doc, pos, limits, win, 1e6), c.before);
  });
});

describe('chooseMode', () => {
  const mode = (s: string, setting: 'auto' | 'always' | 'never' = 'auto') => {
    const c = at(s);
    return chooseMode(extractWindow(c.doc, c, BIG), setting);
  };
  test('an empty or whitespace-only line → block', () => {
    assert.equal(mode('function f() {\n  |\n}'), 'block');
    assert.equal(mode('function f() {\n|\n}'), 'block');
    assert.equal(mode('|'), 'block');
  });
  test('after an opening bracket at the end of the line → block', () => {
    assert.equal(mode('function f() {|\n}'), 'block');
    assert.equal(mode('const xs = [|];'), 'block');
    assert.equal(mode('items.map((x) =>|'), 'block');
    assert.equal(mode('if (ok) {|}'), 'block');
  });
  test('mid-line, or writing a line → line', () => {
    assert.equal(mode('  return a |+ b;'), 'line');
    assert.equal(mode('  const total = |'), 'line');
    assert.equal(mode('  foo(|bar)'), 'line');
    assert.equal(mode('  console.log(|'), 'block');
    assert.equal(mode('  x = compute(|) + 1;'), 'line');
  });
  test('settings always / never win', () => {
    assert.equal(mode('  return a |+ b;', 'always'), 'block');
    assert.equal(mode('function f() {\n  |\n}', 'never'), 'line');
  });
});
