/**
 * Cross-file context: choosing snippets (snippets.ts, Jaccard over identifier sets) and placing them in the model
 * family's repository format within the token budget (contextPrompt.ts), with the shipped tokenizer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JsonObject, TokenizerWrapper } from '../../../src/engine/prompt/tokenizer';
import { buildFimPrompt, detectFimTemplate } from '../../../src/engine/prompt/fim';
import { buildContextPrompt, supportsRepoContext } from '../../../src/engine/prompt/contextPrompt';
import { IdentifierTable, identifierSet, indexFile, jaccard, queryText, rankContext, selectSnippets } from '../../../src/engine/prompt/snippets';
import { TARGET_DIR } from '../../helpers/models';

const tok = TokenizerWrapper.fromDir(TARGET_DIR);
const lockstep = detectFimTemplate(tok);
const [EOT, PRE, MID, SUF] = [4092, 4093, 4094, 4095];
const targetJson = JSON.parse(fs.readFileSync(path.join(TARGET_DIR, 'tokenizer.json'), 'utf8')) as JsonObject;

function withAddedTokens(contents: string[]): TokenizerWrapper {
  const json = structuredClone(targetJson);
  json.added_tokens = contents.map((content, i) => ({
    id: 4092 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return TokenizerWrapper.fromJson(json, {});
}

const LIB = 'export function computeInvoiceTotal(items, taxRate) {\n  return items.reduce((s, i) => s + i.price, 0) * (1 + taxRate);\n}\n';
const current = { path: 'src/main.js', before: "import { computeInvoiceTotal } from './lib';\nconst total = ", after: '\nconsole.log(total);\n' };

// ---------------------------------------------------------------- snippets

test('jaccard and identifier sets', () => {
  assert.deepEqual([...identifierSet('const a_b = $x.y2 + 3;')].sort(), ['$x', 'a_b', 'const', 'y2']);
  assert.equal(jaccard(new Set(['a', 'b']), new Set(['b', 'c'])), 1 / 3);
  assert.equal(jaccard(new Set(), new Set()), 0);
  // The table's scores are the same Jaccard similarities.
  const table = new IdentifierTable();
  const files = [indexFile({ path: 'a.js', text: 'const a = b + c;\nlet d = a;\n' }, { table }), indexFile({ path: 'b.js', text: 'x y z\n' }, { table })];
  const out = new Float64Array(2);
  const q = new Set(['a', 'b', 'q']);
  table.scoreAll(q, files, out);
  assert.deepEqual([...out], [jaccard(q, new Set(['const', 'a', 'b', 'c', 'let', 'd'])), 0]);
});

test('files are cut into overlapping whole-line windows', () => {
  const text = Array.from({ length: 40 }, (_, i) => `line${i}`).join('\n');
  const f = indexFile({ path: 'a.js', text }, { windowLines: 16, stride: 8 });
  assert.deepEqual(f.windows.map((w) => [w.startLine, w.endLine]), [[0, 16], [8, 24], [16, 32], [24, 40]]);
  assert.ok(f.windows.every((w) => w.text.endsWith('\n')));
  assert.equal(f.windows[0].text.split('\n').length, 17);
});

test('the query is the lines around the cursor', () => {
  const before = Array.from({ length: 30 }, (_, i) => `b${i}`).join('\n');
  const q = queryText(before, 'x\na1\na2\na3', 2, 1);
  assert.equal(q, '\nb27\nb28\nb29x\na1');
});

test('snippets are ranked by Jaccard similarity, deduplicated, and bounded in characters', () => {
  const files = [
    { path: 'unrelated.js', text: 'function paintCanvas(ctx) {\n  ctx.fillRect(0, 0, 1, 1);\n}\n' },
    { path: 'lib.js', text: LIB },
    { path: 'copy.js', text: LIB },
    { path: 'src/main.js', text: `${current.before}${current.after}` },
  ];
  const got = rankContext(files, current, { maxChars: 10_000 });
  assert.equal(got[0].path, 'lib.js', 'the file defining the identifier ranks first');
  assert.ok(!got.some((s) => s.path === 'copy.js'), 'the same text is never chosen twice');
  assert.ok(!got.some((s) => s.path === 'src/main.js'), 'the current file is not a source');
  assert.ok(got.every((s, i) => i === 0 || s.score <= got[i - 1].score));
  assert.deepEqual(rankContext(files, current, { maxChars: 10 }), [], 'nothing over the character bound');
  // Overlapping windows of one file: only the best of them.
  const long = { path: 'long.js', text: Array.from({ length: 40 }, () => 'computeInvoiceTotal(items)').join('\n') };
  const picks = selectSnippets([indexFile(long)], identifierSet('computeInvoiceTotal items'), { maxChars: 100_000 });
  for (const a of picks) for (const b of picks) if (a !== b) assert.ok(a.startLine + 16 <= b.startLine || b.startLine + 16 <= a.startLine);
});

// ---------------------------------------------------------------- prompt format

test('lockstep format: <|endoftext|>path\\ncontent per snippet, then <|endoftext|>currentPath\\n and the FIM prompt', () => {
  const p = buildContextPrompt(tok, lockstep, {
    files: [{ path: 'src/lib.js', text: LIB }, { path: 'b.js', text: 'const other = 1;' }], current, budgetTokens: 200, maxPromptTokens: 448,
  });
  const expected = [
    EOT, ...tok.encodePlain('b.js\nconst other = 1;\n'),
    EOT, ...tok.encodePlain(`src/lib.js\n${LIB}`),
    EOT, ...tok.encodePlain('src/main.js\n'),
    PRE, ...tok.encodePlain(current.before), SUF, ...tok.encodePlain(current.after), MID,
  ];
  assert.deepEqual(p.ids, expected, 'least relevant first, the best next to the current file');
  assert.deepEqual(p.contextFiles, ['b.js', 'src/lib.js']);
  assert.equal(p.contextTokens, expected.indexOf(PRE));
});

test('text that looks like a marker inside a snippet stays plain text', () => {
  const p = buildContextPrompt(tok, lockstep, { files: [{ path: 'x.js', text: 'a = "<|endoftext|><|fim_prefix|>";\n' }], current, budgetTokens: 200, maxPromptTokens: 448 });
  assert.equal(p.ids.filter((id) => id === EOT).length, 2);
  assert.equal(p.ids.filter((id) => id === PRE).length, 1);
});

test('no snippets, no budget, or a family without a repository format: exactly the plain FIM prompt', () => {
  const plain = buildFimPrompt(tok, lockstep, current.before, current.after, 448).ids;
  assert.deepEqual(buildContextPrompt(tok, lockstep, { files: [], current, budgetTokens: 200, maxPromptTokens: 448 }).ids, plain);
  assert.deepEqual(buildContextPrompt(tok, lockstep, { files: [{ path: 'l.js', text: LIB }], current, budgetTokens: 0, maxPromptTokens: 448 }).ids, plain);
  const ds = withAddedTokens(['<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>', '<｜end▁of▁sentence｜>']);
  const dsT = detectFimTemplate(ds);
  assert.equal(supportsRepoContext(ds, dsT), false);
  assert.deepEqual(
    buildContextPrompt(ds, dsT, { files: [{ path: 'l.js', text: LIB }], current, budgetTokens: 200, maxPromptTokens: 448 }).ids,
    buildFimPrompt(ds, dsT, current.before, current.after, 448).ids,
  );
});

test('qwen2.5-coder format: <|repo_name|>name\\n, <|file_sep|>path\\ncontent, <|file_sep|>currentPath\\n<|fim_prefix|>…', () => {
  const q = withAddedTokens(['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|repo_name|>', '<|file_sep|>', '<|im_start|>']);
  const t = detectFimTemplate(q);
  assert.equal(t.id, 'qwen2.5-coder');
  const [QPRE, QMID, QSUF, REPO, SEP] = [4093, 4094, 4095, 4096, 4097];
  const p = buildContextPrompt(q, t, { files: [{ path: 'src/lib.js', text: LIB }], current, budgetTokens: 200, maxPromptTokens: 448, repoName: 'shop' });
  assert.deepEqual(p.ids, [
    REPO, ...q.encodePlain('shop\n'), SEP, ...q.encodePlain(`src/lib.js\n${LIB}`), SEP, ...q.encodePlain('src/main.js\n'),
    QPRE, ...q.encodePlain(current.before), QSUF, ...q.encodePlain(current.after), QMID,
  ]);
});

test('budgets: snippets within budgetTokens, the prompt within maxPromptTokens, the current file keeps its share', () => {
  const longBefore = 'let x = 1;\n'.repeat(400);
  const files = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}.js`, text: `function f${i}(x) {\n  return x + ${i};\n}\n` }));
  for (const budgetTokens of [30, 100, 1000]) {
    const p = buildContextPrompt(tok, lockstep, { files, current: { path: 'm.js', before: longBefore, after: '' }, budgetTokens, maxPromptTokens: 448 });
    assert.ok(p.ids.length <= 448, `${p.ids.length} tokens`);
    assert.ok(p.contextTokens <= budgetTokens, `${p.contextTokens} context tokens`);
    // The current file was fitted to half the budget (whole lines: a few tokens may stay unused, and go to snippets).
    assert.ok(p.ids.length - p.contextTokens >= 224 - 12, 'the current file keeps its half');
    assert.deepEqual(p.ids.slice(p.contextTokens), buildFimPrompt(tok, lockstep, longBefore, '', 448 - Math.min(budgetTokens, 224)).ids);
    assert.ok(p.contextFiles.length > 0);
  }
  // A short current file leaves its unused share to the snippets (up to budgetTokens).
  const short = buildContextPrompt(tok, lockstep, { files, current, budgetTokens: 400, maxPromptTokens: 448 });
  assert.ok(short.contextTokens > 224 && short.ids.length <= 448, `${short.contextTokens}`);
});

test('a snippet larger than the room left keeps its first whole lines', () => {
  const big = Array.from({ length: 60 }, (_, i) => `export const value${i} = computeInvoiceTotal(items${i}, 0.${i});`).join('\n') + '\n';
  const p = buildContextPrompt(tok, lockstep, { files: [{ path: 'big.js', text: big }], current, budgetTokens: 120, maxPromptTokens: 448 });
  assert.deepEqual(p.contextFiles, ['big.js']);
  assert.ok(p.contextTokens <= 120);
  const text = tok.decode(p.ids.slice(1, p.ids.indexOf(EOT, 1)));
  assert.ok(text.startsWith('big.js\nexport const value0 = ') && text.endsWith(';\n'), JSON.stringify(text.slice(-40)));
  assert.ok(big.startsWith(text.slice('big.js\n'.length)), 'a prefix of whole lines');
});
