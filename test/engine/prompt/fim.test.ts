import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JsonObject, TokenizerWrapper } from '../../../src/engine/prompt/tokenizer';
import { FIM_TEMPLATES, buildFimPrompt, detectFimTemplate, fimStopTokenIds } from '../../../src/engine/prompt/fim';
import { StopChecker, StopMode, StopReason } from '../../../src/engine/prompt/stops';
import { ROOT, TARGET_DIR } from '../../helpers/models';

const tok = TokenizerWrapper.fromDir(TARGET_DIR);
const lockstep = detectFimTemplate(tok);
const [EOT, PRE, MID, SUF] = [4092, 4093, 4094, 4095];
const fixture = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'axios-formDataToJSON.js.txt'), 'utf8');

const targetJson = JSON.parse(fs.readFileSync(path.join(TARGET_DIR, 'tokenizer.json'), 'utf8')) as JsonObject;

/** The project's BPE with a different set of added tokens (ids from 4092 on), as another family would have. */
function withAddedTokens(contents: string[], extra: Partial<JsonObject> = {}): TokenizerWrapper {
  const json = structuredClone(targetJson);
  json.added_tokens = contents.map((content, i) => ({
    id: 4092 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  }));
  return TokenizerWrapper.fromJson({ ...json, ...extra }, {});
}

const count = (ids: number[], id: number): number => ids.filter((x) => x === id).length;

// ---------------------------------------------------------------- templates

test('the project tokenizer is recognised as lockstep', () => {
  assert.equal(lockstep.id, 'lockstep');
  assert.deepEqual([lockstep.prefix, lockstep.suffix, lockstep.middle], ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>']);
  assert.deepEqual([...fimStopTokenIds(tok, lockstep)].sort(), [EOT, PRE, MID, SUF]);
});

test('synthetic Qwen-, DeepSeek- and StarCoder-like tokenizers are recognised', () => {
  const qwen = withAddedTokens([
    '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>',
    '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>',
  ]);
  const q = detectFimTemplate(qwen);
  assert.equal(q.id, 'qwen2.5-coder');
  assert.equal(fimStopTokenIds(qwen, q).size, 8, 'all stops but <|im_start|>');
  assert.ok(!fimStopTokenIds(qwen, q).has(qwen.specialTokenId('<|im_start|>')!));

  // Only <|file_sep|> beyond the shared markers is enough to tell Qwen from the project's own models.
  assert.equal(detectFimTemplate(withAddedTokens(['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|file_sep|>'])).id, 'qwen2.5-coder');

  const deepseek = withAddedTokens(['<｜end▁of▁sentence｜>', '<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>']);
  const d = detectFimTemplate(deepseek);
  assert.equal(d.id, 'deepseek-coder');
  const dp = buildFimPrompt(deepseek, d, 'a <｜fim▁end｜>', 'b', 100);
  // PSM: begin, before, hole, after, end.
  assert.deepEqual(dp.ids, [4093, ...deepseek.encodePlain('a <｜fim▁end｜>'), 4094, ...deepseek.encodePlain('b'), 4095]);
  assert.deepEqual([...fimStopTokenIds(deepseek, d)].sort(), [4092, 4093, 4094, 4095]);

  const star = withAddedTokens(['<|endoftext|>', '<fim_prefix>', '<fim_middle>', '<fim_suffix>', '<fim_pad>']);
  const s = detectFimTemplate(star);
  assert.equal(s.id, 'starcoder');
  assert.equal(fimStopTokenIds(star, s).size, 5);
  assert.deepEqual(buildFimPrompt(star, s, 'x', 'y', 50).ids, [4093, ...star.encodePlain('x'), 4095, ...star.encodePlain('y'), 4094]);
});

test('a tokenizer without FIM markers is refused with a clear error', () => {
  assert.throws(() => detectFimTemplate(withAddedTokens(['<|endoftext|>'])), /this model has no fill-in-the-middle tokens/);
  assert.throws(() => detectFimTemplate(withAddedTokens(['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>'])), /no fill-in-the-middle/);
});

test('--fim by name: valid names, unknown names, missing markers', () => {
  assert.equal(detectFimTemplate(tok, 'lockstep').id, 'lockstep');
  assert.equal(detectFimTemplate(tok, 'qwen2.5-coder').id, 'qwen2.5-coder', 'same markers, accepted when asked for');
  assert.throws(
    () => detectFimTemplate(tok, 'codegemma'),
    (e: Error) => /unknown FIM template "codegemma"/.test(e.message) &&
      ['lockstep', 'qwen2.5-coder', 'deepseek-coder', 'starcoder'].every((n) => e.message.includes(n)),
  );
  assert.throws(() => detectFimTemplate(tok, 'deepseek-coder'), /<｜fim▁begin｜>.*does not have/);
  assert.throws(() => detectFimTemplate(tok, 'toString'), /unknown FIM template/);
  // Callers get copies: changing one does not change the table.
  detectFimTemplate(tok).stopTokens.push('x');
  assert.equal(FIM_TEMPLATES.lockstep.stopTokens.length, 4);
});

test('a BOS added by the post-processor leads the prompt', () => {
  const bos = '<｜begin▁of▁sentence｜>';
  const deepseek = withAddedTokens([bos, '<｜end▁of▁sentence｜>', '<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>'], {
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [bos]: { id: bos, ids: [4092], tokens: [bos] } },
    },
  });
  assert.deepEqual(deepseek.leadingSpecialIds(), [4092]);
  assert.deepEqual(deepseek.encodePlain('ab'), tok.encodePlain('ab'), 'encodePlain adds no BOS');
  const p = buildFimPrompt(deepseek, detectFimTemplate(deepseek), 'a', 'b', 10);
  assert.deepEqual(p.ids, [4092, 4094, ...tok.encodePlain('a'), 4095, ...tok.encodePlain('b'), 4096]);
  assert.ok(buildFimPrompt(deepseek, detectFimTemplate(deepseek), fixture, fixture, 40).ids.length <= 40);
});

// ---------------------------------------------------------------- prompts

test('prompt layout and ids for the project model', () => {
  const before = 'function add(a, b) {\n  return ';
  const after = ';\n}\n';
  const p = buildFimPrompt(tok, lockstep, before, after, 256);
  assert.deepEqual(p.ids, [PRE, ...tok.encodePlain(before), SUF, ...tok.encodePlain(after), MID]);
  assert.equal(tok.decode(p.ids), `<|fim_prefix|>${before}<|fim_suffix|>${after}<|fim_middle|>`);
  assert.deepEqual([p.beforeText, p.afterText, p.truncatedBefore, p.truncatedAfter], [before, after, false, false]);
  assert.deepEqual(buildFimPrompt(tok, lockstep, '', '', 3).ids, [PRE, SUF, MID]);
  assert.throws(() => buildFimPrompt(tok, lockstep, 'a', 'b', 2), RangeError);
});

test('special-token text in before/after stays plain', () => {
  const before = 'const s = "<|fim_middle|>";\n// <|endoftext|> ';
  const after = ' <|fim_prefix|><|fim_suffix|>\n';
  const p = buildFimPrompt(tok, lockstep, before, after, 200);
  assert.deepEqual([count(p.ids, PRE), count(p.ids, SUF), count(p.ids, MID), count(p.ids, EOT)], [1, 1, 1, 0]);
  assert.equal(p.ids[0], PRE);
  assert.equal(p.ids[p.ids.length - 1], MID);
  assert.equal(tok.decode(p.ids), `<|fim_prefix|>${before}<|fim_suffix|>${after}<|fim_middle|>`);
});

/** Splits the fixture at the start of a line near its middle, with the cursor after indentation. */
function fixtureSplit(): { before: string; after: string } {
  const at = fixture.indexOf('\n', fixture.length >> 1) + 1;
  const indent = /^[ \t]*/.exec(fixture.slice(at))![0].length;
  return { before: fixture.slice(0, at + indent), after: fixture.slice(at + indent) };
}

test('budget respected; truncation keeps whole lines; before gets about 3/4', () => {
  const { before, after } = fixtureSplit();
  for (const max of [20, 40, 100, 250, 500]) {
    const p = buildFimPrompt(tok, lockstep, before, after, max);
    assert.ok(p.ids.length <= max, `${p.ids.length} > ${max}`);
    assert.ok(p.truncatedBefore && p.truncatedAfter);
    assert.ok(before.endsWith(p.beforeText) && after.startsWith(p.afterText));
    const b = tok.encodePlain(p.beforeText);
    const a = tok.encodePlain(p.afterText);
    assert.deepEqual(p.ids, [PRE, ...b, SUF, ...a, MID], 'ids are exactly the plain encodings of the kept texts');
    // Roughly 3:1: before never takes more than its share while after still has text to give.
    const budget = max - 3;
    assert.ok(b.length <= Math.floor(budget * 0.75), `before took ${b.length} of ${budget}`);
    if (max >= 100) {
      // Line boundaries (every line of the fixture is shorter than these budgets): before' starts a line,
      // after' ends one.
      assert.equal(before[before.length - p.beforeText.length - 1], '\n');
      assert.ok(p.afterText.endsWith('\n'));
      assert.ok(b.length > budget * 0.5, `before only ${b.length} of ${budget}`);
      assert.ok(a.length > budget * 0.1, `after only ${a.length} of ${budget}`);
      assert.ok(b.length + a.length > budget * 0.8, `budget poorly used: ${b.length + a.length} of ${budget}`);
    }
  }
  // Not truncated when everything fits.
  const all = buildFimPrompt(tok, lockstep, before, after, 5000);
  assert.deepEqual([all.truncatedBefore, all.truncatedAfter, all.beforeText, all.afterText], [false, false, before, after]);
});

test('unused budget moves to the other side', () => {
  const { before, after } = fixtureSplit();
  const shortAfter = buildFimPrompt(tok, lockstep, before, ';\n', 203);
  assert.ok(!shortAfter.truncatedAfter && shortAfter.truncatedBefore);
  assert.ok(tok.encodePlain(shortAfter.beforeText).length > 160, 'before uses more than its 3/4 share (150)');
  const shortBefore = buildFimPrompt(tok, lockstep, '  x = ', after, 203);
  assert.ok(!shortBefore.truncatedBefore && shortBefore.truncatedAfter);
  assert.ok(tok.encodePlain(shortBefore.afterText).length > 160, 'after uses more than its 1/4 share (50)');
});

test('a line longer than the budget is cut at a character', () => {
  const longLine = 'const table = [' + Array.from({ length: 400 }, (_, i) => `"é${i}中😀"`).join(', ') + '];';
  const before = 'x();\n' + longLine;
  const after = longLine + '\ny();\n';
  const p = buildFimPrompt(tok, lockstep, before, after, 103);
  assert.ok(p.ids.length <= 103 && p.ids.length >= 95, `prompt of ${p.ids.length} ids`);
  assert.ok(p.beforeText.length > 0 && before.endsWith(p.beforeText) && !p.beforeText.includes('\n'));
  assert.ok(p.afterText.length > 0 && after.startsWith(p.afterText) && !p.afterText.includes('\n'));
  // Never half a surrogate pair.
  for (const t of [p.beforeText, p.afterText]) assert.equal(Buffer.from(t, 'utf8').toString('utf8'), t);
  assert.equal(tok.decode(p.ids), `<|fim_prefix|>${p.beforeText}<|fim_suffix|>${p.afterText}<|fim_middle|>`);
});

test('large inputs: only a window near the cursor is ever tokenised', () => {
  const { before, after } = fixtureSplit();
  const bigBefore = before.repeat(300);
  const bigAfter = after.repeat(300);
  let longest = 0;
  const spy = Object.create(tok) as TokenizerWrapper;
  spy.encodePlain = (text: string): number[] => {
    longest = Math.max(longest, text.length);
    return tok.encodePlain(text);
  };
  const t0 = performance.now();
  const p = buildFimPrompt(spy, lockstep, bigBefore, bigAfter, 259);
  const ms = performance.now() - t0;
  assert.ok(p.ids.length <= 259);
  assert.ok(longest <= 8 * 256, `tokenised ${longest} characters at once`);
  assert.ok(ms < 2000, `took ${ms} ms`);
  assert.ok(bigBefore.endsWith(p.beforeText) && bigAfter.startsWith(p.afterText));
});

// ---------------------------------------------------------------- stops

interface Run {
  text: string;
  reason: StopReason | null;
  tokens: number;
  pushed: number;
}

/**
 * Pushes `completion` token by token (then the end-of-text token when `eos`), stopping when told to.
 * `split` 'chars' encodes each character on its own, to check that results do not depend on token boundaries.
 */
function run(
  mode: StopMode,
  before: string,
  after: string,
  completion: string,
  { eos = true, maxTokens = 1000, split = 'bpe' }: { eos?: boolean; maxTokens?: number; split?: 'bpe' | 'chars' } = {},
): Run {
  const checker = new StopChecker(tok, { mode, before, after, maxTokens, stopTokenIds: fimStopTokenIds(tok, lockstep) });
  const ids = split === 'bpe' ? tok.encodePlain(completion) : [...completion].flatMap((c) => tok.encodePlain(c));
  if (eos) ids.push(EOT);
  let pushed = 0;
  for (const id of ids) {
    pushed++;
    if (checker.push(id)) break;
  }
  return { text: checker.text(), reason: checker.reason(), tokens: checker.tokens(), pushed };
}

/** Same text and reason whatever the token boundaries. */
function check(mode: StopMode, before: string, after: string, completion: string, text: string, reason: StopReason, eos = true): Run {
  const r = run(mode, before, after, completion, { eos });
  assert.deepEqual([r.text, r.reason], [text, reason], `${mode}: ${JSON.stringify(completion)}`);
  const c = run(mode, before, after, completion, { eos, split: 'chars' });
  assert.deepEqual([c.text, c.reason], [text, reason], `${mode} (per character): ${JSON.stringify(completion)}`);
  return r;
}

test('rule 1: a stop token ends the completion and is not part of it', () => {
  const r = check('free', 'x = ', '\n', 'compute(1)', 'compute(1)', 'eos');
  assert.equal(r.tokens, tok.encodePlain('compute(1)').length + 1);
  const checker = new StopChecker(tok, { mode: 'free', before: '', after: '', maxTokens: 100, stopTokenIds: new Set([EOT, MID]) });
  const ids = [...tok.encodePlain('a + b'), MID, ...tok.encodePlain(' + c')];
  const stoppedAt = ids.findIndex((id) => checker.push(id));
  assert.equal(stoppedAt, ids.indexOf(MID));
  assert.equal(checker.text(), 'a + b');
  assert.equal(checker.push(1), true, 'stays stopped');
  assert.equal(checker.tokens(), stoppedAt + 1);
  assert.equal(checker.reason(), 'eos');
});

test('rule 2: maxTokens', () => {
  const completion = 'let total = values.reduce((a, b) => a + b, 0);';
  const ids = tok.encodePlain(completion);
  const r = run('free', '', '', completion, { maxTokens: 5 });
  assert.deepEqual([r.reason, r.tokens, r.pushed, r.text], ['maxTokens', 5, 5, tok.decode(ids.slice(0, 5))]);
  const n = new StopChecker(tok, { mode: 'line', before: '', after: '', maxTokens: 3, stopTokenIds: new Set() });
  assert.equal(n.reason(), null);
  assert.deepEqual(ids.slice(0, 3).map((id) => n.push(id)), [false, false, true]);
});

test('rule 3: line mode keeps the first non-empty line', () => {
  const r = check('line', '  const x = ', '\n  return x;\n', 'compute(a, b);\n  const y = 2;\n', 'compute(a, b);', 'line');
  // It stops at the token that brings the newline, not later.
  const ids = tok.encodePlain('compute(a, b);\n  const y = 2;\n');
  const nlToken = ids.findIndex((id) => tok.decode([id]).includes('\n'));
  assert.equal(r.tokens, nlToken + 1);
  // Cursor at the end of a line: the leading newline(s) come with the first non-empty line.
  check('line', 'function f() {', '\n}\n', '\n  return 1;\n}\n', '\n  return 1;', 'line');
  check('line', 'function f() {', '\n}\n', '\n\n  return 1;\n', '\n\n  return 1;', 'line');
  check('line', 'x = ', '', 'f("中文😀");   \ny', 'f("中文😀");', 'line');
  // Ended by eos before any newline; whitespace-only gives ''.
  check('line', 'x = ', '', 'f(1)', 'f(1)', 'eos');
  check('line', 'x = ', '', '\n\n  ', '', 'eos');
});

test('rule 4: block mode stops at a dedent and at a blank line', () => {
  const before = 'function f(a) {\n  if (a) {\n    ';
  const r = check('block', before, '\n  }\n}\n', 'a++;\n    b++;\n  }\n  return a;\n', 'a++;\n    b++;', 'block');
  // Decided as soon as the dedented line shows its first non-blank character.
  const ids = tok.encodePlain('a++;\n    b++;\n  }\n  return a;\n');
  const braceToken = ids.findIndex((_, i) => tok.decode(ids.slice(0, i + 1)).includes('b++;\n  }'));
  assert.ok(braceToken > 0);
  assert.equal(r.tokens, braceToken + 1);

  check('block', 'function f() {\n  ', '\n}\n', 'const a = 1;\n  const b = 2;\n\n  return a + b;\n', 'const a = 1;\n  const b = 2;', 'block');
  // A blank first line (cursor at the end of a line) is not a stop.
  check('block', 'function f() {\n  if (x) {', '\n  }\n}\n', '\n    y();\n\n    z();\n', '\n    y();', 'block');
  // Tabs count 4 columns: two tabs = base 8; eight spaces are not less, one tab is.
  check('block', '\tif (x) {\n\t\t', '\n\t}\n', 'y();\n        z();\n\t}\n', 'y();\n        z();', 'block');
  // Only leading whitespace of the cursor line counts: base 0 here, so nothing is a dedent.
  check('block', 'x = 1;  y = ', '', 'f(\n  a,\n);\nz();', 'f(\n  a,\n);\nz();', 'eos');
  // Trailing whitespace-only tail is trimmed.
  check('block', before, '', 'a++;\n    b++;\n    ', 'a++;\n    b++;', 'eos');
  // Indented deeper than base is fine, and free mode ignores block rules.
  check('free', before, '', 'a++;\n\n}\nnext();', 'a++;\n\n}\nnext();', 'eos');
});

test('rule 4: a line break is kept when code follows the cursor on its line', () => {
  // Cursor at column 0 before `}`: an inserted statement must end with a newline.
  check('block', 'function f() {\n', '}\n', '  return 1;\n}\n', '  return 1;\n', 'suffix');
  check('block', 'function f() {\n', '}\n', '  return 1;\n', '  return 1;\n', 'eos');
  // Cursor mid-line: no line break added.
  check('block', '  const x = ', ';\n', 'f(1)\n', 'f(1)', 'eos');
});

test('rule 5: a line repeating the suffix is dropped', () => {
  check('free', 'function f() {\n  ', '\n  return x;\n}\n', 'x = 1;\n  return x;\n}\n', 'x = 1;\n', 'suffix');
  // At eos the unfinished last line counts as completed.
  check('free', 'function f() {\n  ', '\n  return x;\n}\n', 'x = 1;\n  return x;', 'x = 1;\n', 'eos');
  // A nested `}` is not the enclosing function's `}`: indentation must match when both start a line.
  const completion = 'if (a) {\n    b();\n  }\n  return 1;\n}\n';
  check('free', 'function f() {\n  ', '\n}\n', completion, 'if (a) {\n    b();\n  }\n  return 1;\n', 'suffix');
  check('block', 'function f() {\n  ', '\n}\n', completion, 'if (a) {\n    b();\n  }\n  return 1;', 'block');
  // Cursor at the end of the `if` line: the repeated `}` line goes, reason suffix (base 0, no dedent).
  check('block', 'if (x) {', '\n}\n', '\n  y();\n}\n', '\n  y();', 'suffix');
  // Line mode: the whole line repeats the suffix.
  check('line', 'if (x) {\n  ', '\n  y();\n}', 'y();\nz();', '', 'suffix');
  // Line mode: the end of the line repeats what follows the cursor on its line.
  check('line', 'foo(', ');\nbar();\n', 'a, b);\n', 'a, b', 'line');
  check('line', 'foo(', ') {\n', 'a, b) {\n', 'a, b', 'line');
  check('line', 'foo(', ');\n', 'a, b)', 'a, b)', 'eos');
  // No suffix → rule 5 is off.
  check('free', '', '  \n\n', '}\n}\n', '}\n}\n', 'eos');
});

test('stop results do not depend on the model: same tokens, same answer', () => {
  const opts = { mode: 'block' as const, before: 'function f() {\n  ', after: '\n}\n', maxTokens: 64, stopTokenIds: new Set([EOT]) };
  const ids = tok.encodePlain('const a = [1, 2];\n  return a.map((x) => x * 2);\n}\nfunction g() {}\n');
  const a = new StopChecker(tok, opts);
  const b = new StopChecker(tok.tokenBytesTable(), opts);
  const sa = ids.findIndex((id) => a.push(id));
  const sb = ids.findIndex((id) => b.push(id));
  assert.equal(sa, sb);
  assert.deepEqual([a.text(), a.reason(), a.tokens()], [b.text(), b.reason(), b.tokens()]);
  assert.equal(a.text(), 'const a = [1, 2];\n  return a.map((x) => x * 2);');
});
