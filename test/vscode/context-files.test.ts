/** The extension host's pure context helpers: imports, exclusion globs, recent files, the window index. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExcludeMatcher, RecentList, WindowIndex, enabledGlobs, globToRegExp, importCandidates, looksBinary } from '../../src/vscode/contextFiles';

test('JavaScript/TypeScript: relative imports, re-exports, require and import(); bare packages are never candidates', () => {
  const text = [
    "import { a } from './a';",
    "import b from '../lib/b.js';",
    "export * from './c/index';",
    "const d = require('./d');",
    "const e = await import('./e.mjs');",
    "import React from 'react';",
    "import x from '../../../outside';",
  ].join('\n');
  const got = importCandidates(text, 'src/app/main.ts', 'typescript');
  assert.equal(got.length, 5, JSON.stringify(got));
  assert.deepEqual(got[0].slice(0, 2), ['src/app/a.ts', 'src/app/a.tsx']);
  assert.ok(got[0].includes('src/app/a/index.ts'));
  assert.deepEqual(got[1], ['src/lib/b.js', 'src/lib/b.ts', 'src/lib/b.tsx']);
  assert.ok(got[2].includes('src/app/c/index.ts'));
  assert.ok(got[3].includes('src/app/d.js'));
  assert.deepEqual(got[4], ['src/app/e.mjs']);
});

test('Python: from . import x, from .x import y, import a.b, from a.b import c', () => {
  const text = 'from . import utils\nfrom .models import User, Group\nimport pkg.core\nfrom pkg.sub import thing as t\nimport os\n';
  const flat = importCandidates(text, 'app/views.py', 'python').flat();
  for (const p of ['app/utils.py', 'app/models.py', 'app/models/__init__.py', 'pkg/core.py', 'pkg/core/__init__.py', 'pkg/sub.py', 'pkg/sub/thing.py', 'os.py']) {
    assert.ok(flat.includes(p), p);
  }
  assert.ok(!flat.some((p) => p.startsWith('..')));
});

test('globs: **, *, ?, braces, classes; a matched folder excludes what is in it', () => {
  assert.ok(globToRegExp('**/*.env').test('a/b/prod.env'));
  assert.ok(globToRegExp('**/*.env').test('prod.env'));
  assert.ok(globToRegExp('*.{js,ts}').test('x.ts'));
  assert.ok(!globToRegExp('*.{js,ts}').test('d/x.ts'));
  assert.ok(globToRegExp('file?.[jt]s').test('file1.js'));
  const m = new ExcludeMatcher(['**/secrets', 'build/**', 'notes.md']);
  assert.ok(m.excludes('a/secrets/key.js'));
  assert.ok(m.excludes('build/out.js'));
  assert.ok(m.excludes('notes.md'));
  assert.ok(!m.excludes('docs/notes.md'));
  assert.ok(!m.excludes('src/index.js'));
  assert.deepEqual(enabledGlobs({ '**/.git': true, '**/node_modules': false, '**/*.js': { when: '$(basename).ts' } }), ['**/.git', '**/*.js']);
  assert.deepEqual(enabledGlobs(undefined), []);
});

test('recent files: newest first, bounded', () => {
  const r = new RecentList(3);
  for (const k of ['a', 'b', 'c', 'a', 'd']) r.touch(k);
  assert.deepEqual(r.list(), ['d', 'a', 'c']);
  r.remove('a');
  assert.deepEqual(r.list(), ['d', 'c']);
});

test('the window index reads a file again only when its stamp changes', () => {
  const idx = new WindowIndex(2);
  let reads = 0;
  const read = (t: string) => () => (reads++, t);
  assert.equal(idx.get('k', 'v1', 'a.js', read('const a = 1;\n'))?.windows[0].text, 'const a = 1;\n');
  idx.get('k', 'v1', 'a.js', read('ignored'));
  assert.equal(reads, 1);
  assert.equal(idx.get('k', 'v2', 'a.js', read('const b = 2;\n'))?.windows[0].text, 'const b = 2;\n', 'an edit is seen');
  assert.equal(idx.get('k', 'v3', 'a.js', () => undefined), undefined, 'unreadable now: nothing old is kept');
  idx.get('x', '1', 'x.js', read('x'));
  idx.get('y', '1', 'y.js', read('y'));
  idx.get('z', '1', 'z.js', read('z'));
  assert.equal(idx.size, 2);
  // Past its bound of identifiers the table starts over, and so do the files indexed with it.
  const small = new WindowIndex(10, 3);
  const a = small.get('a', '1', 'a.js', () => 'one two three four\n');
  const b = small.get('b', '1', 'b.js', () => 'five\n');
  assert.notEqual(a?.table, b?.table);
  assert.equal(small.size, 1);
  assert.ok(looksBinary('PNG\0\0'));
  assert.ok(!looksBinary('plain text'));
});
