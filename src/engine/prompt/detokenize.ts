/**
 * Token-by-token detokenization. A byte-level token can end in the middle of a UTF-8 character, so text is
 * only released once its bytes are complete; pushing a sequence one id at a time yields exactly what
 * decoding the whole sequence would.
 */
import type { TokenBytesSource } from './tokenizer';

export class StreamingDetokenizer {
  private readonly table: readonly Uint8Array[];
  // Stream mode keeps an incomplete trailing character inside the decoder until its last byte arrives.
  // ignoreBOM: a U+FEFF in the text is content, not a marker to drop (the library's decode keeps it too).
  private decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(source: TokenBytesSource | readonly Uint8Array[]) {
    this.table = Array.isArray(source) ? source : (source as TokenBytesSource).tokenBytesTable();
  }

  /** Adds one token; returns the text it completes (possibly '' while a character is still incomplete). */
  push(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.table.length) {
      throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.table.length - 1})`);
    }
    return this.decoder.decode(this.table[id], { stream: true });
  }

  /** Ends the stream: bytes of a character that never completed come out as U+FFFD. Resets for reuse. */
  flush(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    return rest;
  }
}
