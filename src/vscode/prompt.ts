/**
 * The text around the cursor that becomes a FIM prompt, and whether a completion is one line or a block.
 * No `vscode` import: a document is anything with lineCount and lineAt(i) (the line's text without its end).
 *
 * Only a bounded window of the document is read — whole lines walking outwards from the cursor until a character
 * budget is spent (the engine's FIM builder then fits the window to the token budget) — so a huge file costs no
 * more than a small one.
 */
import type { CompletionMode } from '../engine/process/engine';
import type { MultilineMode } from './settings';

export interface TextLines {
  readonly lineCount: number;
  /** The text of line `i` (0-based) without its line break. */
  lineAt(i: number): string;
}

export interface CursorPosition {
  line: number;
  /** UTF-16 offset in the line, as VS Code counts. */
  character: number;
}

export interface PromptWindow {
  /** Text before the cursor (lines joined with '\n'), at most maxBeforeChars characters. */
  before: string;
  /** Text after the cursor, at most maxAfterChars characters. */
  after: string;
  /** The document has more text before / after the window. */
  truncatedBefore: boolean;
  truncatedAfter: boolean;
  /** The cursor line's text before and after the cursor. */
  linePrefix: string;
  lineSuffix: string;
  /** The line above the cursor ('' on the first line). */
  previousLine: string;
}

/**
 * Characters of text to read per token of prompt budget: generous (code averages 3–4 characters a token), so the
 * window holds at least as much as the budget can use. Matches the engine's own look-ahead in fim.ts.
 */
export const CHARS_PER_TOKEN = 8;

export function windowChars(contextTokens: number): { maxBeforeChars: number; maxAfterChars: number } {
  const chars = Math.max(64, Math.floor(contextTokens)) * CHARS_PER_TOKEN;
  return { maxBeforeChars: chars, maxAfterChars: chars };
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The last `n` characters of s, not starting inside a surrogate pair. */
function tailChars(s: string, n: number): string {
  if (n <= 0) return '';
  if (s.length <= n) return s;
  let start = s.length - n;
  if (isLow(s.charCodeAt(start))) start++;
  return s.slice(start);
}

/** The first `n` characters of s, not ending inside a surrogate pair. */
function headChars(s: string, n: number): string {
  if (n <= 0) return '';
  if (s.length <= n) return s;
  let end = n;
  if (isHigh(s.charCodeAt(end - 1))) end--;
  return s.slice(0, end);
}

/**
 * The window around `pos`: whole lines outwards from the cursor while they fit; the line that does not fit is cut
 * (its end kept above the cursor, its start below), so the window is as full as the budget allows.
 */
export function extractWindow(
  doc: TextLines,
  pos: CursorPosition,
  limits: { maxBeforeChars: number; maxAfterChars: number },
): PromptWindow {
  const lineCount = doc.lineCount;
  const line = Math.min(Math.max(0, pos.line), Math.max(0, lineCount - 1));
  const current = lineCount > 0 ? doc.lineAt(line) : '';
  let ch = Math.min(Math.max(0, pos.character), current.length);
  // Never split a surrogate pair at the cursor.
  if (ch > 0 && ch < current.length && isLow(current.charCodeAt(ch)) && isHigh(current.charCodeAt(ch - 1))) ch--;
  const linePrefix = current.slice(0, ch);
  const lineSuffix = current.slice(ch);

  // Before: the cursor line's prefix, then earlier lines while they fit.
  const beforeParts: string[] = [];
  let budget = limits.maxBeforeChars;
  let truncatedBefore = false;
  const prefixKept = tailChars(linePrefix, budget);
  beforeParts.push(prefixKept);
  budget -= prefixKept.length;
  if (prefixKept.length < linePrefix.length) truncatedBefore = true;
  for (let i = line - 1; i >= 0 && !truncatedBefore; i--) {
    // Each earlier line costs its text plus its line break.
    if (budget <= 0) {
      truncatedBefore = true;
      break;
    }
    const t = doc.lineAt(i);
    if (t.length + 1 <= budget) {
      beforeParts.push(`${t}\n`);
      budget -= t.length + 1;
    } else {
      beforeParts.push(`${tailChars(t, budget - 1)}\n`);
      truncatedBefore = true;
    }
  }
  const before = beforeParts.reverse().join('');

  // After: the cursor line's suffix, then later lines while they fit.
  const afterParts: string[] = [];
  budget = limits.maxAfterChars;
  let truncatedAfter = false;
  const suffixKept = headChars(lineSuffix, budget);
  afterParts.push(suffixKept);
  budget -= suffixKept.length;
  if (suffixKept.length < lineSuffix.length) truncatedAfter = true;
  for (let i = line + 1; i < lineCount && !truncatedAfter; i++) {
    if (budget <= 0) {
      truncatedAfter = true;
      break;
    }
    const t = doc.lineAt(i);
    if (t.length + 1 <= budget) {
      afterParts.push(`\n${t}`);
      budget -= t.length + 1;
    } else {
      afterParts.push(`\n${headChars(t, budget - 1)}`);
      truncatedAfter = true;
    }
  }
  const after = afterParts.join('');

  return {
    before,
    after,
    truncatedBefore,
    truncatedAfter,
    linePrefix,
    lineSuffix,
    previousLine: line > 0 ? doc.lineAt(line - 1) : '',
  };
}

/**
 * The text before the cursor that a completion-cache lookup needs (cache.ts): the window's before-part, or — when the
 * window was cut — the window widened by `extra` characters (CompletionCache.lookBehind: the most that can have been
 * typed along a cached completion, which moved the window's start up by as much), so that a cached window can be
 * compared whole.
 */
export function lookupBefore(
  doc: TextLines,
  pos: CursorPosition,
  limits: { maxBeforeChars: number; maxAfterChars: number },
  win: Pick<PromptWindow, 'before' | 'truncatedBefore'>,
  extra: number,
): string {
  if (!win.truncatedBefore || !(extra > 0)) return win.before;
  return extractWindow(doc, pos, { maxBeforeChars: limits.maxBeforeChars + extra, maxAfterChars: 0 }).before;
}

/** A document given as one string (tests, the CLI-style API). */
export function linesOf(text: string): TextLines {
  const lines = text.split(/\r?\n/);
  return { lineCount: lines.length, lineAt: (i) => lines[i] };
}

/** Only closing brackets, quotes and punctuation to the right of the cursor: a completion may still end the line. */
const CLOSERS_ONLY = /^[\s)\]}>"'`;,.]*$/;
/** The line before the cursor ends by opening a block. */
const OPENS_BLOCK = /(?:[{[(]|=>)\s*$/;

/**
 * line or block. `always` → block, `never` → line. `auto`:
 *  - block when the cursor line is empty or only whitespace before the cursor (a new line — typically after an
 *    opening bracket — where a whole statement or body is wanted);
 *  - block when the text before the cursor ends by opening a bracket (`{`, `(`, `[`, `=>`) and nothing but
 *    closers follows on the line;
 *  - line otherwise (mid-line, or at the end of a line that is being written).
 */
export function chooseMode(win: Pick<PromptWindow, 'linePrefix' | 'lineSuffix'>, setting: MultilineMode): CompletionMode {
  if (setting === 'always') return 'block';
  if (setting === 'never') return 'line';
  if (win.linePrefix.trim() === '') return 'block';
  if (CLOSERS_ONLY.test(win.lineSuffix) && OPENS_BLOCK.test(win.linePrefix)) return 'block';
  return 'line';
}
