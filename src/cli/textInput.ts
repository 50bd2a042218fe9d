/**
 * Text the user hands `lockstep complete` — a file at a cursor, --prefix-file / --suffix-file, --context-file, stdin —
 * is read as UTF-8 and bytes that are not UTF-8 are refused, not replaced: a replacement character would silently
 * change the prompt (and so the completion) and nothing downstream could tell. The message names where the first bad
 * byte is and how to convert the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TextDecoder } from 'node:util';
import { CliError } from './cliError';

// ignoreBOM keeps a leading BOM in the text, as fs.readFileSync(…, 'utf8') always did: the cursor arithmetic counts it.
const strict = (): TextDecoder => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `bytes` as text; a CliError naming `what` and the first invalid byte when they are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strict().decode(bytes);
  } catch {
    const at = firstInvalidByte(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    const byte = `byte 0x${bytes[at].toString(16).padStart(2, '0').toUpperCase()}`;
    throw new CliError(
      `${what} is not UTF-8 text (${byte} at offset ${at}, line ${line}); Lockstep reads code as UTF-8 and does not guess ` +
        `encodings: convert it first, e.g. iconv -f latin1 -t utf-8`,
    );
  }
}

/**
 * The offset of the first byte that makes `bytes` invalid UTF-8: the smallest k whose prefix [0, k) fails to decode
 * (streaming, so a character cut by the prefix's end is not yet an error), found by bisection, minus one.
 */
function firstInvalidByte(bytes: Uint8Array): number {
  const fails = (k: number): boolean => {
    try {
      strict().decode(bytes.subarray(0, k), { stream: true });
      return false;
    } catch {
      return true;
    }
  };
  // A streaming decode of everything that does not fail: only a character cut short at the very end is wrong.
  let hi = fails(bytes.length) ? bytes.length : bytes.length + 1;
  let lo = 0;
  while (hi - lo > 1 && hi <= bytes.length) {
    const mid = (lo + hi) >>> 1;
    if (fails(mid)) hi = mid;
    else lo = mid;
  }
  // Byte hi − 1 is where decoding failed; when that byte is not a continuation byte and the bytes before it are an
  // incomplete character (0xE9 then ';'), that character's lead byte is the one to name.
  const bad = hi - 1;
  if (bad < bytes.length && (bytes[bad] & 0xc0) === 0x80) return bad;
  let k = bad - 1;
  while (k >= 0 && bad - 1 - k < 3 && (bytes[k] & 0xc0) === 0x80) k--;
  return k >= 0 && bad - k < utf8Length(bytes[k]) ? k : bad;
}

/** How many bytes a UTF-8 character starting with `lead` takes (1 for a byte that cannot start one). */
function utf8Length(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

/** A text file relative to `cwd`, strictly UTF-8; one-line CliErrors for a missing, unreadable or non-UTF-8 file. */
export function readTextFile(file: string, cwd: string): string {
  const abs = path.resolve(cwd, file);
  let bytes: Buffer;
  try {
    if (fs.statSync(abs).isDirectory()) throw new CliError(`cannot read ${file}: it is a directory`);
    bytes = fs.readFileSync(abs);
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CliError(`cannot read ${file}: ${why}`);
  }
  return decodeUtf8(bytes, file);
}
