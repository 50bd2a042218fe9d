import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { JsonObject, TokenizerWrapper } from '../../../src/engine/prompt/tokenizer';
import { StreamingDetokenizer } from '../../../src/engine/prompt/detokenize';
import { ROOT, TARGET_DIR } from '../../helpers/models';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'axios-formDataToJSON.js.txt');
const fixtureText = fs.readFileSync(FIXTURE, 'utf8');
const tok = TokenizerWrapper.fromDir(TARGET_DIR);
const SPECIAL_IDS = [4092, 4093, 4094, 4095];

function targetJson(): { json: JsonObject; config: JsonObject } {
  const json = JSON.parse(fs.readFileSync(path.join(TARGET_DIR, 'tokenizer.json'), 'utf8')) as JsonObject;
  const config = JSON.parse(fs.readFileSync(path.join(TARGET_DIR, 'tokenizer_config.json'), 'utf8')) as JsonObject;
  return { json, config };
}

/** Pushes ids one by one; returns the chunks. */
function stream(source: TokenizerWrapper, ids: number[]): string[] {
  const d = new StreamingDetokenizer(source);
  const chunks = ids.map((id) => d.push(id));
  chunks.push(d.flush());
  return chunks;
}

const MULTIBYTE = [
  'const s = "√ é 中文 😀";',
  "// café, naïve, e\u0301 (combining), lone mark: \u0301 end",
  'let 变量 = "😀😀 🚀 👩‍💻";\n\ttab\r\nCRLF line\u00a0nbsp \ufeffbom',
].join('\n');

test('the project tokenizer loads with its four added tokens', () => {
  assert.equal(tok.vocabSize, 4096);
  assert.deepEqual(
    tok.addedTokens().map((t) => [t.id, t.content, t.special]),
    [
      [4092, '<|endoftext|>', true],
      [4093, '<|fim_prefix|>', true],
      [4094, '<|fim_middle|>', true],
      [4095, '<|fim_suffix|>', true],
    ],
  );
  assert.equal(tok.specialTokenId('<|fim_middle|>'), 4094);
  assert.equal(tok.specialTokenId('Ġ'), undefined, 'ordinary vocabulary entries are not special');
  assert.equal(tok.idToToken(4092), '<|endoftext|>');
  assert.equal(tok.idToToken(32), 'Ġ');
  assert.equal(tok.idToToken(99999), undefined);
  assert.deepEqual(tok.leadingSpecialIds(), []);
  assert.deepEqual(tok.encodePlain(''), []);
  assert.equal(tok.decode([]), '');
});

test('the held-out fixture round-trips byte for byte', () => {
  assert.ok(fixtureText.length > 2000 && fixtureText.includes('—'), 'fixture has multi-byte characters');
  const ids = tok.encodePlain(fixtureText);
  assert.ok(ids.length > 500 && ids.length < fixtureText.length);
  const back = tok.decode(ids);
  assert.ok(Buffer.from(back, 'utf8').equals(Buffer.from(fixtureText, 'utf8')));
});

test('special-token strings in user text are encoded as plain text', () => {
  const text = 'a<|endoftext|>b <|fim_middle|>\n<|fim_prefix|>x<|fim_suffix|> <|im_start|> <｜fim▁begin｜>';
  // The library itself turns them into special ids: this is what encodePlain must prevent.
  const { json, config } = targetJson();
  const raw = new Tokenizer(json, config).encode(text, { add_special_tokens: false }).ids;
  assert.ok(raw.includes(4092) && raw.includes(4094));

  const ids = tok.encodePlain(text);
  for (const s of SPECIAL_IDS) assert.ok(!ids.includes(s), `special id ${s} in the plain encoding`);
  assert.equal(tok.decode(ids), text);
  assert.deepEqual(tok.encodePlain('<|endoftext|>'), tok.encodePlain('<|') .concat(tok.encodePlain('endoftext'), tok.encodePlain('|>')));
});

test('encodePlain gives the ids the training encoder (tools/bpe.py) gives', () => {
  // Golden ids from tools/bpe.py's encoder for the (final) project tokenizer: the prompt the engine builds
  // is tokenised exactly as the training data was.
  const text = 'const s = "√ é 中文 😀";\n// café e\u0301 \u0301 <|endoftext|> <|fim_middle|>\n\tx\r\n  \n\n    y';
  assert.deepEqual(tok.encodePlain(text), [
    352, 310, 268, 304, 226, 136, 154, 32, 195, 169, 32, 228, 184, 173, 230, 150, 135, 32, 240, 159, 152, 128, 595, 10,
    337, 280, 97, 102, 195, 169, 388, 204, 129, 32, 204, 129, 693, 124, 383, 663, 1800, 124, 62, 693, 124, 102, 373, 95,
    109, 2351, 124, 62, 10, 9, 120, 13, 790, 824, 889,
  ]);
});

test('multi-byte text round-trips and streams token by token without U+FFFD', () => {
  for (const text of [MULTIBYTE, fixtureText, '😀', 'é', '\u0301', '中文']) {
    const ids = tok.encodePlain(text);
    assert.equal(tok.decode(ids), text);
    const chunks = stream(tok, ids);
    for (const c of chunks) assert.ok(!c.includes('\uFFFD'), `U+FFFD in chunk ${JSON.stringify(c)}`);
    assert.equal(chunks.join(''), tok.decode(ids));
  }
  // The emoji is split across byte tokens, so the stream really had to hold bytes back.
  const emoji = tok.encodePlain('😀');
  assert.ok(emoji.length > 1);
  assert.deepEqual(stream(tok, emoji).slice(0, emoji.length - 1), new Array<string>(emoji.length - 1).fill(''));
});

test('streaming matches decode for special tokens between text', () => {
  const ids = [...tok.encodePlain('x = "é'), 4092, ...tok.encodePlain('中")')];
  assert.equal(stream(tok, ids).join(''), tok.decode(ids));
});

test('StreamingDetokenizer over a bytes table', () => {
  const table = [Uint8Array.of(0xf0), Uint8Array.of(0x9f, 0x98), Uint8Array.of(0x80), Uint8Array.of(0x41), Uint8Array.of(0xef, 0xbb, 0xbf)];
  const d = new StreamingDetokenizer(table);
  assert.deepEqual([0, 1, 2, 3].map((id) => d.push(id)), ['', '', '😀', 'A']);
  assert.equal(d.push(4), '\ufeff', 'a BOM is text, not dropped');
  d.push(0);
  assert.equal(d.flush(), '\uFFFD', 'an unfinished character is flushed as U+FFFD');
  assert.equal(d.push(3), 'A', 'usable again after flush');
  assert.throws(() => d.push(5), RangeError);
  assert.throws(() => d.push(-1), RangeError);
});

test('tokenBytes concatenation equals the UTF-8 of decode', () => {
  for (const text of [MULTIBYTE, fixtureText]) {
    const ids = tok.encodePlain(text);
    const bytes = Buffer.concat(ids.map((id) => tok.tokenBytes(id)));
    assert.ok(bytes.equals(Buffer.from(tok.decode(ids), 'utf8')));
  }
  assert.deepEqual([...tok.tokenBytes(4092)], [...Buffer.from('<|endoftext|>')]);
  assert.deepEqual([...tok.tokenBytes(32)], [0x20], 'Ġ is a space');
  assert.deepEqual([...tok.tokenBytes(10)], [0x0a], 'Ċ is a newline');
  assert.equal(tok.tokenBytes(123456).length, 0);
  // Every single-byte token 0..255 maps to a distinct byte (the bytes_to_unicode inverse is a bijection).
  const singles = new Set<number>();
  for (let id = 0; id < 256; id++) {
    assert.equal(tok.tokenBytes(id).length, 1);
    singles.add(tok.tokenBytes(id)[0]);
  }
  assert.equal(singles.size, 256);
});

test('byte-level detection sees a ByteLevel step nested in a Sequence', () => {
  const { json, config } = targetJson();
  const nested = TokenizerWrapper.fromJson(
    {
      ...json,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [json.pre_tokenizer] },
      decoder: { type: 'Sequence', decoders: [json.decoder] },
    },
    config,
  );
  const ids = nested.encodePlain(MULTIBYTE);
  assert.ok(Buffer.concat(ids.map((id) => nested.tokenBytes(id))).equals(Buffer.from(MULTIBYTE, 'utf8')));
  assert.deepEqual(nested.tokenBytesTable(), tok.tokenBytesTable());
});

test('SentencePiece-style tokens: ▁ is a space, <0xNN> is one byte', () => {
  const vocab: Record<string, number> = { '<unk>': 0, '<0x41>': 1, '<0xE4>': 2, '\u2581': 3, a: 4, '\u2581a': 5, 'é': 6 };
  const sp = TokenizerWrapper.fromJson(
    {
      version: '1.0',
      added_tokens: [{ id: 0, content: '<unk>', special: true }],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
        ],
      },
      model: { type: 'BPE', vocab, merges: ['\u2581 a'], unk_token: '<unk>', byte_fallback: true },
    },
    {},
  );
  assert.deepEqual([...sp.tokenBytes(5)], [0x20, 0x61]);
  assert.deepEqual([...sp.tokenBytes(1)], [0x41]);
  assert.deepEqual([...sp.tokenBytes(2)], [0xe4]);
  assert.deepEqual([...sp.tokenBytes(6)], [0xc3, 0xa9]);
  assert.deepEqual([...sp.tokenBytes(0)], [...Buffer.from('<unk>')]);
});

test('vocabularyFingerprint: equal for two loads, different for a modified vocabulary', () => {
  const again = TokenizerWrapper.fromDir(TARGET_DIR);
  assert.match(tok.vocabularyFingerprint(), /^[0-9a-f]{64}$/);
  assert.equal(again.vocabularyFingerprint(), tok.vocabularyFingerprint());

  const { json, config } = targetJson();
  const model = json.model as { vocab: Record<string, number> };
  const swapped = structuredClone(json);
  const sv = (swapped.model as { vocab: Record<string, number> }).vocab;
  [sv.a, sv.b] = [model.vocab.b, model.vocab.a]; // same strings, two ids exchanged
  assert.notEqual(TokenizerWrapper.fromJson(swapped, config).vocabularyFingerprint(), tok.vocabularyFingerprint());

  const renamedAdded = structuredClone(json);
  (renamedAdded.added_tokens as { content: string }[])[0].content = '<|eos|>';
  assert.notEqual(TokenizerWrapper.fromJson(renamedAdded, config).vocabularyFingerprint(), tok.vocabularyFingerprint());

  assert.equal(TokenizerWrapper.fromJson(structuredClone(json), config).vocabularyFingerprint(), tok.vocabularyFingerprint());
});

test('fromDir errors name the missing or broken file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-tok-'));
  try {
    const tokPath = path.join(dir, 'tokenizer.json');
    assert.throws(() => TokenizerWrapper.fromDir(dir), (e: Error) => e.message.includes(tokPath) && /not found/.test(e.message));
    fs.writeFileSync(tokPath, '{"version": "1.0", ');
    assert.throws(() => TokenizerWrapper.fromDir(dir), (e: Error) => e.message.includes(tokPath) && /invalid JSON/.test(e.message));
    fs.copyFileSync(path.join(TARGET_DIR, 'tokenizer.json'), tokPath);
    const cfgPath = path.join(dir, 'tokenizer_config.json');
    assert.throws(() => TokenizerWrapper.fromDir(dir), (e: Error) => e.message.includes(cfgPath));
    fs.writeFileSync(cfgPath, '[]');
    assert.throws(() => TokenizerWrapper.fromDir(dir), (e: Error) => e.message.includes(cfgPath));
    fs.writeFileSync(cfgPath, '{}');
    assert.equal(TokenizerWrapper.fromDir(dir).vocabSize, 4096);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
