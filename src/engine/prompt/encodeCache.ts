/**
 * Re-encoding only what changed: an 8 KB prompt window costs 4–6 ms to encode with byte-level BPE (and fim.ts
 * encodes it up to three times, whole, per line and as the kept tail), and a keystroke changes one line of it.
 *
 * Byte-level BPE never merges across a pre-token, so ids(text) = ids(left) ++ ids(right) whenever the split point is a
 * boundary of the pre-tokenizer's regex that the regex also finds when it sees only `left` (no match of the left part
 * changes when the text after it is cut off). The text is split only at such points, each chunk is encoded once and
 * kept by its string; a keystroke re-encodes the one or two chunks it touched.
 *
 * Split points are proven for two pre-tokenizers only (anything else is encoded whole, as before):
 *  - GPT-2's ByteLevel regex (`'s|'t|…| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`), the shipped models';
 *  - Qwen2's Split regex (`(?i:'s|…)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`).
 * The points (q = index of the first character of the right part; "printable" = ASCII 0x21–0x7e):
 *  (a) a line's indentation: text[q] is ' ' or '\t', text[q + 1] printable, and text[q − 1 …] back to a '\n' holds
 *      only ' ' / '\t'. Both regexes end a whitespace run at its last character before a non-space (GPT-2: `\s+(?!\S)`
 *      backs off one; Qwen: `\s*[\r\n]+` stops at the newline, then `\s+(?!\S)` backs off one), and cut there the
 *      left part's run ends at the string's end, where `\s+(?!\S)` takes the same characters.
 *  (b) an unindented line: text[q − 1] = '\n' and text[q − 2], text[q] printable. A lone '\n' between two non-spaces is
 *      one pre-token in both regexes, with or without what follows.
 * The normaliser must be none or NFC: every split point is next to ASCII whitespace, which composes with nothing.
 * test/engine/prompt/encode-cache.test.ts compares the chunked ids with a whole encoding over thousands of random edits, on the
 * shipped tokenizer and on Qwen's.
 */

const GPT2_BYTELEVEL = 'gpt2';
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Texts shorter than this are encoded whole: splitting them saves nothing. */
const MIN_SPLIT_LENGTH = 256;
/** Chunks kept per generation; two generations are kept, so at most twice this many strings. */
const GENERATION_SIZE = 4096;

const isPrintable = (c: number): boolean => c >= 0x21 && c <= 0x7e;
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * Which proven pre-tokenizer a tokenizer.json uses, or undefined when splitting is not known to be exact for it.
 * `json` is tokenizer.json's parsed object.
 */
export function chunkablePreTokenizer(json: { [key: string]: unknown }): string | undefined {
  const norm = json.normalizer as { type?: unknown } | null | undefined;
  if (norm !== null && norm !== undefined && norm.type !== 'NFC') return undefined;
  const pre = json.pre_tokenizer as { [key: string]: unknown } | null | undefined;
  if (!pre) return undefined;
  if (pre.type === 'ByteLevel') {
    return pre.use_regex !== false && pre.add_prefix_space !== true ? GPT2_BYTELEVEL : undefined;
  }
  if (pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers) || pre.pretokenizers.length !== 2) return undefined;
  const [split, byteLevel] = pre.pretokenizers as { [key: string]: unknown }[];
  const pattern = split?.pattern as { Regex?: unknown } | undefined;
  const ok =
    split?.type === 'Split' && pattern?.Regex === QWEN2_SPLIT && split.behavior === 'Isolated' && split.invert === false &&
    byteLevel?.type === 'ByteLevel' && byteLevel.use_regex === false && byteLevel.add_prefix_space !== true;
  return ok ? 'qwen2' : undefined;
}

/**
 * The split points of `text` (see the header), ascending, excluding 0 and text.length. Written into `out` (reused);
 * returns how many.
 */
export function splitPoints(text: string, out: number[]): number {
  let n = 0;
  const len = text.length;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl + 1 < len; nl = text.indexOf('\n', nl + 1)) {
    let q = nl + 1;
    const c = text.charCodeAt(q);
    if (isPrintable(c)) {
      // (b): needs a printable character before the newline.
      if (nl > 0 && isPrintable(text.charCodeAt(nl - 1))) out[n++] = q;
      continue;
    }
    if (!isBlank(c)) continue;
    while (q + 1 < len && isBlank(text.charCodeAt(q + 1))) q++;
    // (a): q is the indentation's last blank; the next character must be printable.
    if (q + 1 < len && isPrintable(text.charCodeAt(q + 1))) out[n++] = q;
  }
  return n;
}

/** Encodes long texts chunk by chunk with a cache of chunk → ids; exact for the pre-tokenizers above. */
export class ChunkedEncoder {
  /** Chunks encoded (cache misses) and reused (hits), for the benchmarks. */
  misses = 0;
  hits = 0;
  private current = new Map<string, readonly number[]>();
  private previous = new Map<string, readonly number[]>();
  private readonly points: number[] = [];

  constructor(private readonly encodeWhole: (text: string) => number[]) {}

  encode(text: string): number[] {
    if (text.length < MIN_SPLIT_LENGTH) return this.encodeWhole(text);
    const count = splitPoints(text, this.points);
    const out: number[] = [];
    let start = 0;
    for (let i = 0; i <= count; i++) {
      const end = i < count ? this.points[i] : text.length;
      const ids = this.chunk(text.slice(start, end));
      for (let j = 0; j < ids.length; j++) out.push(ids[j]);
      start = end;
    }
    return out;
  }

  private chunk(s: string): readonly number[] {
    let ids = this.current.get(s);
    if (ids !== undefined) {
      this.hits++;
      return ids;
    }
    ids = this.previous.get(s);
    if (ids !== undefined) this.hits++;
    else {
      this.misses++;
      ids = this.encodeWhole(s);
    }
    // Two generations: a chunk unused for a whole generation is dropped (memory stays bounded).
    if (this.current.size >= GENERATION_SIZE) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(s, ids);
    return ids;
  }
}
