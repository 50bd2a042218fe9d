/**
 * Tokenizer access for the engine: loading a Hugging Face tokenizer directory,
 * plain-text encoding that can never produce special tokens, exact per-token
 * bytes (for streaming detokenization) and a vocabulary fingerprint (to refuse
 * a drafter whose ids mean something else than the target's).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ChunkedEncoder, chunkablePreTokenizer } from './encodeCache';

/** A parsed JSON object (tokenizer.json or tokenizer_config.json). */
export type JsonObject = { [key: string]: unknown };

/** One entry of tokenizer.json's `added_tokens`. */
export interface AddedTokenInfo {
  id: number;
  content: string;
  special: boolean;
}

/** Anything that can give the exact bytes of every token id (index = id). */
export interface TokenBytesSource {
  tokenBytesTable(): readonly Uint8Array[];
}

const EMPTY_BYTES = new Uint8Array(0);
const utf8 = new TextEncoder();

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and parses one JSON file; errors name the file so a broken model directory is easy to fix. */
function readJsonObject(path: string): JsonObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new Error(`cannot read ${path}: ${why}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid JSON in ${path}: ${(err as Error).message}`);
  }
  if (!isJsonObject(parsed)) throw new Error(`invalid tokenizer file ${path}: expected a JSON object`);
  return parsed;
}

function parseAddedTokens(json: JsonObject): AddedTokenInfo[] {
  const raw = json.added_tokens ?? [];
  if (!Array.isArray(raw)) throw new Error('tokenizer.json: "added_tokens" must be an array');
  return raw.map((entry: unknown, i): AddedTokenInfo => {
    if (!isJsonObject(entry) || typeof entry.id !== 'number' || typeof entry.content !== 'string') {
      throw new Error(`tokenizer.json: added_tokens[${i}] needs a numeric "id" and a string "content"`);
    }
    return { id: entry.id, content: entry.content, special: entry.special === true };
  });
}

/** True when a pre-tokenizer or decoder entry (possibly a Sequence) contains a ByteLevel step. */
function hasByteLevel(node: unknown): boolean {
  if (!isJsonObject(node)) return false;
  if (node.type === 'ByteLevel') return true;
  if (node.type !== 'Sequence') return false;
  const children = node.pretokenizers ?? node.decoders ?? [];
  return Array.isArray(children) && children.some(hasByteLevel);
}

/** GPT-2's bytes_to_unicode table, inverted: printable stand-in character → byte. */
function unicodeToByteTable(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  for (const b of printable) map.set(String.fromCharCode(b), b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) map.set(String.fromCharCode(256 + n++), b);
  }
  return map;
}

function byteLevelBytes(token: string, table: Map<string, number>): Uint8Array {
  const out: number[] = [];
  for (const ch of token) {
    const b = table.get(ch);
    // A character outside the table cannot come from byte-level BPE; keep its UTF-8 rather than drop it.
    if (b === undefined) out.push(...utf8.encode(ch));
    else out.push(b);
  }
  return Uint8Array.from(out);
}

const BYTE_FALLBACK = /^<0x([0-9A-Fa-f]{2})>$/;

/** SentencePiece-style pieces: `<0xNN>` is one raw byte, ▁ stands for a space. */
function sentencePieceBytes(token: string): Uint8Array {
  const m = BYTE_FALLBACK.exec(token);
  if (m) return Uint8Array.of(parseInt(m[1], 16));
  return utf8.encode(token.replaceAll('\u2581', ' '));
}

export class TokenizerWrapper implements TokenBytesSource {
  /** Max id + 1 over the vocabulary and the added tokens. */
  readonly vocabSize: number;

  private readonly full: Tokenizer;
  private readonly plain: Tokenizer;
  private readonly added: readonly AddedTokenInfo[];
  private readonly addedByContent: ReadonlyMap<string, number>;
  /** id → token string (holes where no token has that id). */
  private readonly idToTokenTable: readonly (string | undefined)[];
  private readonly bytesTable: readonly Uint8Array[];
  private readonly bos: readonly number[];
  private fingerprint: string | undefined;
  /** Set when the pre-tokenizer is one whose split points are proven (encodeCache.ts): re-encodes only what changed. */
  private readonly chunked: ChunkedEncoder | undefined;

  private constructor(json: JsonObject, config: JsonObject) {
    this.added = parseAddedTokens(json);
    this.full = new Tokenizer(json, config);
    // The library always turns added-token strings inside the input into their ids. A second instance that
    // knows no added tokens encodes user text exactly as the BPE encodes those characters.
    const plainConfig: JsonObject = { ...config };
    delete plainConfig.added_tokens_decoder;
    delete plainConfig.additional_special_tokens;
    this.plain = new Tokenizer({ ...json, added_tokens: [] }, plainConfig);
    const whole = (text: string): number[] => this.plain.encode(text, { add_special_tokens: false }).ids;
    this.chunked = chunkablePreTokenizer(json) === undefined ? undefined : new ChunkedEncoder(whole);

    const byContent = new Map<string, number>();
    for (const t of this.added) byContent.set(t.content, t.id);
    this.addedByContent = byContent;

    // model.vocab is id-indexed and, after construction, includes the added tokens.
    const modelVocab = this.full.model?.vocab ?? [];
    let maxId = modelVocab.length - 1;
    for (const t of this.added) maxId = Math.max(maxId, t.id);
    this.vocabSize = maxId + 1;
    const table: (string | undefined)[] = new Array<string | undefined>(this.vocabSize);
    for (let id = 0; id < modelVocab.length; id++) table[id] = modelVocab[id];
    for (const t of this.added) table[t.id] = t.content;
    this.idToTokenTable = table;

    this.bytesTable = this.buildBytesTable(json);
    this.bos = this.detectLeadingSpecialIds();
  }

  /** Loads `tokenizer.json` and `tokenizer_config.json` from a model directory. */
  static fromDir(dir: string): TokenizerWrapper {
    const json = readJsonObject(join(dir, 'tokenizer.json'));
    const config = readJsonObject(join(dir, 'tokenizer_config.json'));
    try {
      return new TokenizerWrapper(json, config);
    } catch (err) {
      throw new Error(`cannot load the tokenizer in ${dir}: ${(err as Error).message}`);
    }
  }

  /** Builds from already-parsed tokenizer.json and tokenizer_config.json objects (not mutated). */
  static fromJson(json: JsonObject, config: JsonObject = {}): TokenizerWrapper {
    return new TokenizerWrapper(json, config);
  }

  /**
   * Encodes user text as plain text: strings that look like special tokens become ordinary BPE pieces,
   * never the special ids. No BOS/EOS is added.
   */
  encodePlain(text: string): number[] {
    if (text.length === 0) return [];
    if (this.chunked) return this.chunked.encode(text);
    return this.encodeWhole(text);
  }

  /** encodePlain without the chunk cache: one pass of the library over the whole text (the reference). */
  encodeWhole(text: string): number[] {
    if (text.length === 0) return [];
    return this.plain.encode(text, { add_special_tokens: false }).ids;
  }

  /** The chunk cache's hit and miss counts (undefined when this tokenizer encodes whole texts only). */
  chunkStats(): { hits: number; misses: number } | undefined {
    return this.chunked ? { hits: this.chunked.hits, misses: this.chunked.misses } : undefined;
  }

  /** Id of an added token by its exact content (ordinary vocabulary entries are not looked up). */
  specialTokenId(content: string): number | undefined {
    return this.addedByContent.get(content);
  }

  addedTokens(): AddedTokenInfo[] {
    return this.added.map((t) => ({ ...t }));
  }

  /**
   * Ids the tokenizer's post-processor puts before any text (a BOS such as DeepSeek's
   * `<｜begin▁of▁sentence｜>`); empty for Qwen-style and the project's own models.
   */
  leadingSpecialIds(): number[] {
    return [...this.bos];
  }

  /** Decodes ids to text; added tokens appear as their content. Never cleans up spaces (code must round-trip). */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.full.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  /** The exact bytes token `id` stands for (empty for an id no token has). */
  tokenBytes(id: number): Uint8Array {
    return this.bytesTable[id] ?? EMPTY_BYTES;
  }

  /** All token bytes, index = id; shared, do not modify. */
  tokenBytesTable(): readonly Uint8Array[] {
    return this.bytesTable;
  }

  /** sha256 (hex) over the id-sorted (token, id) pairs of the whole vocabulary, added tokens included. */
  vocabularyFingerprint(): string {
    if (this.fingerprint === undefined) {
      const hash = createHash('sha256');
      this.idToTokenTable.forEach((token, id) => {
        // JSON encoding keeps the pairs unambiguous whatever characters a token holds.
        if (token !== undefined) hash.update(JSON.stringify([token, id]) + '\n');
      });
      this.fingerprint = hash.digest('hex');
    }
    return this.fingerprint;
  }

  /** Precomputes every token's bytes once, so detokenizing is a table lookup. */
  private buildBytesTable(json: JsonObject): Uint8Array[] {
    const byteLevel = hasByteLevel(json.pre_tokenizer) || hasByteLevel(json.decoder);
    const inverse = byteLevel ? unicodeToByteTable() : undefined;
    const addedIds = new Set(this.added.map((t) => t.id));
    const table = new Array<Uint8Array>(this.vocabSize);
    for (let id = 0; id < this.vocabSize; id++) {
      const token = this.idToTokenTable[id];
      if (token === undefined) table[id] = EMPTY_BYTES;
      else if (addedIds.has(id)) table[id] = utf8.encode(token); // added tokens decode to their content
      else if (inverse) table[id] = byteLevelBytes(token, inverse);
      else table[id] = sentencePieceBytes(token);
    }
    return table;
  }

  /** Compares encodings with and without special tokens of a neutral text to see what the post-processor prepends. */
  private detectLeadingSpecialIds(): number[] {
    const bare: number[] = this.full.encode('a', { add_special_tokens: false }).ids;
    const withSpecial: number[] = this.full.encode('a', { add_special_tokens: true }).ids;
    // Find where the text's own ids start; whatever precedes them (BOS) is what a prompt must begin with.
    for (let at = 0; at + bare.length <= withSpecial.length; at++) {
      if (bare.every((id, i) => withSpecial[at + i] === id)) return withSpecial.slice(0, at);
    }
    return [];
  }
}
