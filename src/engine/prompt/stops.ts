/**
 * When to stop a completion, decided token by token from the emitted tokens and the prompt context only,
 * so that the same token sequence always gives the same stop point and the same text.
 *
 * Rules (a "line" is text up to a '\n'; line 0 is the rest of the cursor's line):
 *  1. eos       — a stop token ends the completion; it is not part of the text.
 *  2. maxTokens — after maxTokens tokens (the last one included).
 *  3. line      — 'line' mode: cut at the first newline that ends a non-blank line. Leading blank lines (the
 *                 cursor was at the end of a line) are kept, so the first non-empty line comes with them.
 *  4. block     — 'block' mode: base = indentation width of the cursor's line (leading spaces/tabs of the
 *                 last line of `before`, tab = 4 columns). Stop before a later line (index > 0) that is
 *                 non-blank and indented less than base — decided as soon as its first non-blank character
 *                 arrives, since its indentation can no longer change — and before a blank later line once
 *                 the completion has non-blank text.
 *  5. suffix    — stop before a completed line that repeats the first non-blank line of `after` (compared
 *                 trimmed; when both lines start at a line start, i.e. neither is on the cursor's line, their
 *                 indentation must match too, so a nested `}` is not taken for the enclosing one). At eos
 *                 the unfinished last line counts as completed.
 * 'free' mode applies 1, 2 and 5 only.
 *
 * Final text:
 *  - line:  the kept text without trailing whitespace; then, if the text after the cursor on its line is
 *           non-blank and the completion ends with it (e.g. `);`), that repetition is removed.
 *  - block: trailing whitespace removed, except that one line break is kept when the cursor sits in the
 *           leading whitespace of a line that has code to its right (that code must stay on its own line).
 *  - free:  the kept text as it is.
 *  A line or block completion with no non-blank character is ''. Bytes of a character still incomplete
 *  when generation stops are dropped.
 */
import { StreamingDetokenizer } from './detokenize';
import type { TokenBytesSource } from './tokenizer';

export type StopMode = 'line' | 'block' | 'free';
export type StopReason = 'eos' | 'maxTokens' | 'line' | 'block' | 'suffix';

export interface StopOptions {
  maxTokens: number;
  mode: StopMode;
  stopTokenIds: ReadonlySet<number>;
  /** Document text before the cursor. */
  before: string;
  /** Document text after the cursor. */
  after: string;
}

const TAB_WIDTH = 4;
const NON_BLANK = /\S/;

/** Leading spaces and tabs of a line (other whitespace does not indent). */
function leadingIndent(line: string): string {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return line.slice(0, i);
}

function indentWidth(line: string): number {
  let width = 0;
  for (const ch of leadingIndent(line)) width += ch === '\t' ? TAB_WIDTH : 1;
  return width;
}

/** The first non-blank line of `after`, with its indentation when it starts at a line start. */
interface SuffixLine {
  trimmed: string;
  /** null when the line is the rest of the cursor's line (its indentation lies in `before`). */
  indent: string | null;
}

function firstNonBlankLine(after: string): SuffixLine | null {
  const lines = after.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i].trim();
    if (trimmed !== '') return { trimmed, indent: i === 0 ? null : leadingIndent(lines[i]) };
  }
  return null;
}

/** Where the kept text ends and why. */
interface Cut {
  at: number;
  reason: StopReason;
}

export class StopChecker {
  private readonly detok: StreamingDetokenizer;
  private readonly opts: StopOptions;
  private readonly baseIndent: number;
  private readonly suffixLine: SuffixLine | null;
  /** The text after the cursor on its own line, trimmed. */
  private readonly afterRest: string;
  /** The cursor sits in the leading whitespace of its line. */
  private readonly cursorAtLineStart: boolean;

  private raw = '';
  private lineStart = 0;
  private lineIndex = 0;
  /** Some completed line so far is non-blank (rule 4's blank-line stop). */
  private hasContent = false;
  private count = 0;
  private stopCut: Cut | null = null;

  constructor(source: TokenBytesSource | readonly Uint8Array[], options: StopOptions) {
    this.detok = new StreamingDetokenizer(source);
    this.opts = options;
    const cursorLine = options.before.slice(options.before.lastIndexOf('\n') + 1);
    this.baseIndent = indentWidth(cursorLine);
    this.cursorAtLineStart = cursorLine.trim() === '';
    this.suffixLine = firstNonBlankLine(options.after);
    const nl = options.after.indexOf('\n');
    this.afterRest = (nl === -1 ? options.after : options.after.slice(0, nl)).trim();
  }

  /** Consumes one generated token; true when generation must stop now (further pushes are ignored). */
  push(id: number): boolean {
    if (this.stopCut) return true;
    this.count++;
    if (this.opts.stopTokenIds.has(id)) {
      // Rule 1. The unfinished last line is final now: rules 3-5 may still drop it.
      const last = this.raw.slice(this.lineStart);
      const cut = last.length > 0 ? this.checkLine(last, this.lineStart, this.raw.length) : null;
      this.stopCut = { at: cut && cut.at < this.raw.length ? cut.at : this.raw.length, reason: 'eos' };
      return true;
    }
    this.raw += this.detok.push(id);
    const cut = this.scanLines();
    if (cut) this.stopCut = cut;
    else if (this.count >= this.opts.maxTokens) this.stopCut = { at: this.raw.length, reason: 'maxTokens' }; // rule 2
    return this.stopCut !== null;
  }

  /** Tokens consumed, including the one that triggered the stop (a stop token too). */
  tokens(): number {
    return this.count;
  }

  reason(): StopReason | null {
    return this.stopCut?.reason ?? null;
  }

  /** The completion text: final once push() returned true, otherwise what would be kept if it ended now. */
  text(): string {
    const kept = this.raw.slice(0, this.stopCut?.at ?? this.raw.length);
    switch (this.opts.mode) {
      case 'free':
        return kept;
      case 'line':
        return this.finishLine(kept);
      case 'block':
        return this.finishBlock(kept);
    }
  }

  /** Runs the line rules on every line the last token completed, then rule 4's early dedent check. */
  private scanLines(): Cut | null {
    for (let nl = this.raw.indexOf('\n', this.lineStart); nl !== -1; nl = this.raw.indexOf('\n', this.lineStart)) {
      const cut = this.checkLine(this.raw.slice(this.lineStart, nl), this.lineStart, nl);
      if (cut) return cut;
      this.lineStart = nl + 1;
      this.lineIndex++;
    }
    if (this.opts.mode === 'block' && this.lineIndex > 0) {
      const partial = this.raw.slice(this.lineStart);
      if (NON_BLANK.test(partial) && indentWidth(partial) < this.baseIndent) {
        return { at: this.lineStart, reason: 'block' };
      }
    }
    return null;
  }

  /** Rules 3-5 for the completed line raw[start, end) (line index this.lineIndex). */
  private checkLine(line: string, start: number, end: number): Cut | null {
    const blank = !NON_BLANK.test(line);
    const { mode } = this.opts;
    if (mode === 'block' && this.lineIndex > 0) {
      if (!blank && indentWidth(line) < this.baseIndent) return { at: start, reason: 'block' };
      if (blank && this.hasContent) return { at: start, reason: 'block' };
    }
    if (blank) return null;
    if (this.repeatsSuffix(line)) return { at: start, reason: 'suffix' };
    if (mode === 'line') return { at: end, reason: 'line' };
    this.hasContent = true;
    return null;
  }

  /** Rule 5: does this completed line repeat the first non-blank line of `after`? */
  private repeatsSuffix(line: string): boolean {
    const s = this.suffixLine;
    if (!s || line.trim() !== s.trimmed) return false;
    if (this.lineIndex > 0 && s.indent !== null) return leadingIndent(line) === s.indent;
    return true;
  }

  private finishLine(kept: string): string {
    let text = kept.trimEnd();
    // The model often closes the line with what already follows the cursor (`);`): do not insert it twice.
    if (this.afterRest !== '' && text.endsWith(this.afterRest)) text = text.slice(0, -this.afterRest.length);
    return NON_BLANK.test(text) ? text : '';
  }

  private finishBlock(kept: string): string {
    const text = kept.trimEnd();
    if (!NON_BLANK.test(text)) return '';
    const tail = kept.slice(text.length);
    if (this.cursorAtLineStart && this.afterRest !== '' && tail.includes('\n')) {
      return text + (tail.includes('\r\n') ? '\r\n' : '\n');
    }
    return text;
  }
}
