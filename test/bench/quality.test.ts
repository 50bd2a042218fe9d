/**
 * `lockstep bench quality`'s parts: CrossCodeEval's metrics, the choice of cursor points, and the prompt with
 * cross-file context — token for token the format tools/repo_data.py trains the project's models on.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import { FIM_TEMPLATES } from '../../src/engine/prompt/fim';
import { packageRoot } from '../../src/models/catalog';
import { crossFileUses, declaredNames, loadPackage, selectTasks } from '../../bench/quality/data';
import { editDistance, editSimilarity, exactMatch, identifierF1, meanScores } from '../../bench/quality/metrics';
import { qualityPrompt, requestContext } from '../../bench/quality/prompt';
import { QualitySample, qualityRows } from '../../bench/quality/quality';

const tok = TokenizerWrapper.fromDir(path.join(packageRoot(), 'models', 'lockstep-target'));
const AXIOS = path.join(packageRoot(), 'bench', 'fixtures', 'quality', 'axios');

test('metrics: exact match ignores outer whitespace, edit similarity and identifier F1 by hand', () => {
  assert.equal(exactMatch('  foo(a);\n', 'foo(a);'), 1);
  assert.equal(exactMatch('foo(a, b);', 'foo(a);'), 0);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editSimilarity('kitten', 'sitting'), 1 - 3 / 7);
  assert.equal(editSimilarity('', ''), 1);
  // prediction a,b,c (3) vs reference a,b,b,d (4): 2 common → P 2/3, R 2/4
  assert.ok(Math.abs(identifierF1('a(b) + c', 'a.b(b, d)') - (2 * (2 / 3) * 0.5) / (2 / 3 + 0.5)) < 1e-12);
  assert.equal(identifierF1('();', '{}'), 1);
  assert.equal(identifierF1('x', ';'), 0);
  assert.deepEqual(meanScores([]), { exactMatch: 0, editSimilarity: 0, identifierF1: 0 });
});

test('cursor points: cross-file lines use an imported binding or a member the imported file declares', () => {
  const files = new Map([
    ['lib/a.js', { path: 'lib/a.js', text: 'export function parseUrl(u) {\n  return u;\n}\nconst helper = 1;\n' }],
    ['lib/b.js', { path: 'lib/b.js', text: "import a from './a.js';\nimport { other } from 'external';\n" }],
  ]);
  assert.deepEqual([...declaredNames(files.get('lib/a.js')!.text)].sort(), ['helper', 'parseUrl']);
  const uses = crossFileUses(files.get('lib/b.js')!, files);
  assert.deepEqual(uses('const x = a.parseUrl(y) + a.missing;'), ['a.parseUrl', 'a']);
  assert.deepEqual(uses('other(1); b.parseUrl()'), []);
});

test('tasks on the committed fixtures: seeded, line and block kinds, references cut at the cursor', () => {
  const pkg = loadPackage(AXIOS);
  assert.ok(pkg.files.every((f) => !f.path.endsWith('.txt') && f.path.startsWith('lib/')));
  const tasks = selectTasks([pkg], { crossFile: 6, random: 3, seed: 4 });
  assert.deepEqual(tasks.map((t) => t.id), selectTasks([pkg], { crossFile: 6, random: 3, seed: 4 }).map((t) => t.id));
  assert.equal(new Set(tasks.filter((t) => t.kind === 'line').map((t) => `${t.path}:${t.id.split(':')[2]}`)).size, 9);
  for (const t of tasks) {
    const file = pkg.files.find((f) => f.path === t.path)!;
    assert.equal(t.before + t.reference + t.after, file.text, t.id);
    if (t.selection === 'cross-file') assert.ok(t.crossFile.length > 0, t.id);
    if (t.kind === 'line') assert.ok(!t.reference.includes('\n'), t.id);
    else assert.ok(t.reference.includes('\n'), t.id);
  }
});

test('prompt with context: the engine lays out exactly what tools/repo_data.py trains on, token for token', () => {
  // the snippet starts with indentation: path and content must be one encoded text on both sides
  const a = { path: 'lib/a.js', text: '  parseUrl(url) {\n    return url.split("/");\n  }\n' };
  const before = 'import { parseUrl } from "./a.js";\nconst parts = ';
  const after = '\nexport default parts;\n';
  const req = { package: 'p', path: 'lib/b.js', before, after, files: [a], maxPromptTokens: 400 };
  const withCtx = qualityPrompt(tok, FIM_TEMPLATES.lockstep, { ...req, withContext: true });
  // golden ids: tools/repo_data.py's layout with tools/bpe.py's encoder (one snippet, then the current file)
  assert.deepEqual(withCtx.ids, [
    4092, 1605, 47, 97, 46, 494, 312, 1365, 3259, 40, 1354, 41, 274, 300, 404, 2557, 46, 2014, 452, 47, 573, 312, 319, 10,
    4092, 1605, 47, 98, 46, 494, 10, 4093, 520, 274, 1365, 3259, 319, 498, 1771, 97, 46, 494, 595, 10, 352, 2815, 268, 32, 4095, 10,
    405, 899, 2815, 59, 10, 4094,
  ]);
  assert.equal(withCtx.snippets, 1);
  assert.deepEqual(requestContext({ ...req, withContext: true })?.snippets, [{ path: 'lib/a.js', text: a.text }]);
  const without = qualityPrompt(tok, FIM_TEMPLATES.lockstep, { ...req, withContext: false });
  assert.deepEqual(without.ids, withCtx.ids.slice(withCtx.ids.indexOf(4093)));
  assert.equal(without.snippets, 0);
  // no shared identifier: no snippet, the plain prompt
  const none = qualityPrompt(tok, FIM_TEMPLATES.lockstep, { ...req, files: [{ path: 'x.js', text: '1;\n' }], withContext: true });
  assert.deepEqual(none.ids, without.ids);
  assert.equal(requestContext({ ...req, files: [{ path: 'x.js', text: '1;\n' }], withContext: true }), undefined);
});

test('rows: mean over tasks and seeds, seed spread, groups by kind and selection', () => {
  const tasks = [
    { id: 't1', package: 'p', path: 'a', kind: 'line' as const, selection: 'cross-file' as const, before: '', after: '', reference: 'x', crossFile: ['x'] },
    { id: 't2', package: 'p', path: 'a', kind: 'block' as const, selection: 'random' as const, before: '', after: '', reference: 'y', crossFile: [] },
  ];
  const s = (task: string, seed: number, em: number): QualitySample => ({
    task, arm: 'with-context', temperature: 0.2, seed, prediction: '', promptTokens: 1, snippets: 1, exactMatch: em, editSimilarity: em, identifierF1: em,
  });
  const rows = qualityRows([s('t1', 1, 1), s('t2', 1, 0), s('t1', 2, 0), s('t2', 2, 0)], tasks);
  const all = rows.find((r) => r.group === 'all')!;
  assert.equal(all.exactMatch, 0.25);
  assert.equal(all.seeds, 2);
  assert.equal(all.tasks, 2);
  // per-seed means 0.5 and 0: sd = 0.3536
  assert.ok(Math.abs(all.exactMatchSeedSd - Math.SQRT1_2 / 2) < 1e-12);
  assert.equal(rows.find((r) => r.group === 'line cross-file')!.exactMatch, 0.5);
  assert.deepEqual(rows.map((r) => r.group), ['all', 'line cross-file', 'block random']);
});
