/**
 * Cursor arithmetic (src/cli/prompts.ts, src/cli/demo.ts): 1-based line and column with CRLF and astral characters,
 * <file>:<line>:<col> positions, the fixture prompts, and the demo's cursor.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { splitAtCursor, fixturePrompts, parsePosition } from '../../src/cli/prompts';
import { demoCursor, CURSOR_AFTER } from '../../src/cli/demo';
import { packageRoot } from '../../src/models/catalog';

const root = packageRoot();

describe('cursor positions', () => {
  test('splitAtCursor: 1-based line/col, end of line, CRLF, astral characters', () => {
    const t = 'ab\r\ncd\n😀x\n';
    assert.deepEqual(splitAtCursor(t, 1, 1, 't'), { label: 't', before: '', after: t });
    assert.equal(splitAtCursor(t, 1, 3, 't').before, 'ab');
    assert.throws(() => splitAtCursor(t, 1, 4, 't'), /column 4 is out of range \(line 1 has 2 characters; use 1..3\)/);
    assert.equal(splitAtCursor(t, 2, 2, 't').before, 'ab\r\nc');
    assert.equal(splitAtCursor(t, 3, 2, 't').before, 'ab\r\ncd\n😀');
    assert.equal(splitAtCursor(t, 4, 1, 't').after, '');
    assert.throws(() => splitAtCursor(t, 5, 1, 't'), /line 5 is out of range \(the file has 4 lines\)/);
    assert.deepEqual(parsePosition('C:\\src\\a.js:3:4'), { file: 'C:\\src\\a.js', line: 3, col: 4 });
    assert.equal(parsePosition('a.js:3'), undefined);
  });

  test('fixture prompts are deterministic lines inside blocks', () => {
    const a = fixturePrompts(5);
    const b = fixturePrompts(5);
    assert.deepEqual(a, b);
    assert.equal(new Set(a.map((p) => p.label)).size, 5);
    for (const p of a) {
      assert.match(p.before, /\n[ \t]+$/, 'cursor after indentation');
      assert.match(p.after, /^\n/, 'the rest of the line is removed');
    }
  });

  test('the demo cursor is just after its anchor', () => {
    const text = fs.readFileSync(path.join(root, 'examples', 'demo.js'), 'utf8');
    const { line, col } = demoCursor(text);
    assert.ok(splitAtCursor(text, line, col, 'demo').before.endsWith(CURSOR_AFTER));
  });
});
