/**
 * Fill-in-the-middle: the marker tokens of each model family, recognising a family from its tokenizer, and
 * building a PSM prompt (prefix marker, text before the cursor, suffix marker, text after, middle marker)
 * that fits a token budget.
 */
import type { TokenizerWrapper } from './tokenizer';

export type FimTemplateId = 'lockstep' | 'qwen2.5-coder' | 'deepseek-coder' | 'starcoder';

/** Marker strings are added tokens of the model's tokenizer; every template uses PSM order. */
export interface FimTemplate {
  id: FimTemplateId;
  prefix: string;
  suffix: string;
  middle: string;
  /** Added tokens that end a completion; those a given tokenizer lacks are ignored. */
  stopTokens: string[];
}

const QWEN_MARKERS = ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'];

export const FIM_TEMPLATES: Readonly<Record<FimTemplateId, Readonly<FimTemplate>>> = {
  lockstep: {
    id: 'lockstep',
    prefix: '<|fim_prefix|>',
    suffix: '<|fim_suffix|>',
    middle: '<|fim_middle|>',
    stopTokens: ['<|endoftext|>', ...QWEN_MARKERS],
  },
  'qwen2.5-coder': {
    id: 'qwen2.5-coder',
    prefix: '<|fim_prefix|>',
    suffix: '<|fim_suffix|>',
    middle: '<|fim_middle|>',
    stopTokens: [
      '<|endoftext|>', '<|im_end|>', ...QWEN_MARKERS, '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>',
    ],
  },
  // DeepSeek names its markers by position in the file: begin = prefix, hole = suffix marker, end = middle.
  'deepseek-coder': {
    id: 'deepseek-coder',
    prefix: '<｜fim▁begin｜>',
    suffix: '<｜fim▁hole｜>',
    middle: '<｜fim▁end｜>',
    stopTokens: ['<｜end▁of▁sentence｜>', '<|EOT|>', '<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>'],
  },
  starcoder: {
    id: 'starcoder',
    prefix: '<fim_prefix>',
    suffix: '<fim_suffix>',
    middle: '<fim_middle>',
    stopTokens: ['<|endoftext|>', '<fim_prefix>', '<fim_suffix>', '<fim_middle>', '<fim_pad>', '<file_sep>'],
  },
};

export const FIM_TEMPLATE_NAMES = Object.keys(FIM_TEMPLATES) as FimTemplateId[];

/** Tokens only Qwen's chat/repo-level vocabulary has; the project's own models share Qwen's FIM markers. */
const QWEN_ONLY_TOKENS = ['<|im_start|>', '<|im_end|>', '<|file_sep|>', '<|repo_name|>', '<|fim_pad|>'];

function copyTemplate(t: Readonly<FimTemplate>): FimTemplate {
  return { ...t, stopTokens: [...t.stopTokens] };
}

function hasMarkers(tok: TokenizerWrapper, t: Readonly<FimTemplate>): boolean {
  return [t.prefix, t.suffix, t.middle].every((m) => tok.specialTokenId(m) !== undefined);
}

/**
 * The template to use: by name when `hint` is given (the `--fim` option), else recognised from the
 * tokenizer's added tokens. Throws when the name is unknown or the tokenizer lacks the markers.
 */
export function detectFimTemplate(tok: TokenizerWrapper, hint?: string): FimTemplate {
  if (hint !== undefined && hint !== '') {
    if (!Object.hasOwn(FIM_TEMPLATES, hint)) {
      throw new Error(`unknown FIM template "${hint}"; valid names: ${FIM_TEMPLATE_NAMES.join(', ')}`);
    }
    const named = FIM_TEMPLATES[hint as FimTemplateId];
    if (!hasMarkers(tok, named)) {
      throw new Error(
        `FIM template "${hint}" needs the added tokens ${named.prefix} ${named.suffix} ${named.middle}, ` +
          `which this tokenizer does not have`,
      );
    }
    return copyTemplate(named);
  }
  if (hasMarkers(tok, FIM_TEMPLATES.lockstep)) {
    const qwen = QWEN_ONLY_TOKENS.some((t) => tok.specialTokenId(t) !== undefined);
    return copyTemplate(FIM_TEMPLATES[qwen ? 'qwen2.5-coder' : 'lockstep']);
  }
  for (const id of ['deepseek-coder', 'starcoder'] as const) {
    if (hasMarkers(tok, FIM_TEMPLATES[id])) return copyTemplate(FIM_TEMPLATES[id]);
  }
  throw new Error(
    'this model has no fill-in-the-middle tokens; Lockstep needs a FIM-trained code model ' +
      `(recognised families: ${FIM_TEMPLATE_NAMES.join(', ')})`,
  );
}

/** Ids of the template's stop tokens that this tokenizer has. */
export function fimStopTokenIds(tok: TokenizerWrapper, template: FimTemplate): Set<number> {
  const ids = new Set<number>();
  for (const s of template.stopTokens) {
    const id = tok.specialTokenId(s);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

export interface FimPrompt {
  ids: number[];
  /** The end of `before` that the prompt holds. */
  beforeText: string;
  /** The start of `after` that the prompt holds. */
  afterText: string;
  truncatedBefore: boolean;
  truncatedAfter: boolean;
}

/** `before` gets this share of the text budget; whatever a side leaves unused goes to the other. */
const BEFORE_SHARE = 3 / 4;
/** Text beyond this many characters per budget token is never looked at (no whole-file tokenising). */
const CHARS_PER_TOKEN_WINDOW = 8;

/**
 * [BOS if the tokenizer adds one] prefix, before', suffix, after', middle — at most maxPromptTokens ids.
 * before' is the end of `before`, after' the start of `after`, both cut at line boundaries when possible.
 */
export function buildFimPrompt(
  tok: TokenizerWrapper,
  template: FimTemplate,
  before: string,
  after: string,
  maxPromptTokens: number,
): FimPrompt {
  const marker = (s: string): number => {
    const id = tok.specialTokenId(s);
    if (id === undefined) throw new Error(`the tokenizer has no FIM marker token ${s} (template ${template.id})`);
    return id;
  };
  const prefixId = marker(template.prefix);
  const suffixId = marker(template.suffix);
  const middleId = marker(template.middle);
  const lead = tok.leadingSpecialIds();
  const budget = Math.floor(maxPromptTokens) - lead.length - 3;
  if (!(budget >= 0)) {
    throw new RangeError(`maxPromptTokens ${maxPromptTokens} leaves no room for the FIM markers`);
  }

  const beforeShare = Math.floor(budget * BEFORE_SHARE);
  let b = fitEnd(tok, before, beforeShare);
  const a = fitStart(tok, after, budget - b.ids.length);
  // `after` was short: give what it left over back to `before`.
  if (b.truncated && !a.truncated && b.ids.length + a.ids.length < budget) {
    b = fitEnd(tok, before, budget - a.ids.length);
  }
  const ids = [...lead, prefixId, ...b.ids, suffixId, ...a.ids, middleId];
  return {
    ids,
    beforeText: b.text,
    afterText: a.text,
    truncatedBefore: b.truncated,
    truncatedAfter: a.truncated,
  };
}

/** A piece of text kept for the prompt and its plain encoding. */
interface Fit {
  text: string;
  ids: number[];
  truncated: boolean;
}

const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** UTF-8 length of the code point ending (backwards) or starting (forwards) at a string index. */
function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

function byteLength(tok: TokenizerWrapper, ids: readonly number[]): number {
  let n = 0;
  for (const id of ids) n += tok.tokenBytes(id).length;
  return n;
}

/**
 * Keeps the longest end of `text` whose plain encoding has at most `budget` tokens.
 * Whole lines are dropped from the start; a line is only cut inside when it alone exceeds the budget.
 */
function fitEnd(tok: TokenizerWrapper, text: string, budget: number): Fit {
  if (text.length === 0) return { text: '', ids: [], truncated: false };
  if (budget <= 0) return { text: '', ids: [], truncated: true };
  let offset = Math.max(0, text.length - budget * CHARS_PER_TOKEN_WINDOW);
  if (offset > 0 && isLowSurrogate(text.charCodeAt(offset))) offset++;
  const win = text.slice(offset);
  // Segment starts: the window's start, then every line start inside it.
  const starts = [0];
  for (let i = win.indexOf('\n'); i !== -1 && i + 1 < win.length; i = win.indexOf('\n', i + 1)) starts.push(i + 1);
  // The window may begin inside a line; that piece is kept only when the window holds no whole line.
  const minK = offset > 0 && text[offset - 1] !== '\n' && starts.length > 1 ? 1 : 0;

  if (minK === 0) {
    const whole = tok.encodePlain(win);
    if (whole.length <= budget) return { text: win, ids: whole, truncated: offset > 0 };
  }

  // Tokens per line, encoded separately: close to (usually at least) what they take inside the whole text.
  const counts = starts.map((s, k) => tok.encodePlain(win.slice(s, starts[k + 1] ?? win.length)).length);
  // Smallest k whose lines starts[k].. fit by the estimate; a real encoding confirms it, and when it does
  // not, more lines are dropped (as many as the excess suggests).
  let k = starts.length;
  let sum = 0;
  while (k > minK && sum + counts[k - 1] <= budget) sum += counts[--k];
  let ids: number[] = [];
  let kept = win.length;
  while (k < starts.length) {
    const tail = tok.encodePlain(win.slice(starts[k]));
    const excess = tail.length - budget;
    if (excess <= 0) {
      ids = tail;
      kept = starts[k];
      break;
    }
    for (let dropped = 0; k < starts.length && dropped < excess; ) dropped += counts[k++];
  }
  // The line just before the kept ones did not fit; cut inside it only when it alone is over the budget.
  const prev = k - 1;
  if (prev >= 0 && counts[prev] > budget) {
    const cut = cutLineEnd(tok, win, starts[prev], kept, budget, ids);
    kept = cut.start;
    ids = cut.ids;
  }
  return { text: win.slice(kept), ids, truncated: true };
}

/**
 * Cuts the line win[lineStart, lineEnd) at a character so that win.slice(start) fits the budget, using
 * token byte lengths to aim the cut and a real encoding to confirm it.
 */
function cutLineEnd(
  tok: TokenizerWrapper,
  win: string,
  lineStart: number,
  lineEnd: number,
  budget: number,
  restIds: number[],
): { start: number; ids: number[] } {
  const lineIds = tok.encodePlain(win.slice(lineStart, lineEnd));
  let room = budget - restIds.length;
  for (let attempt = 0; attempt < 8 && room > 0; attempt++) {
    // Bytes of the line's last `room` tokens → the character where they start (never inside a character).
    const wantBytes = byteLength(tok, lineIds.slice(Math.max(0, lineIds.length - room)));
    let start = lineEnd;
    let bytes = 0;
    while (start > lineStart) {
      let i = start - 1;
      if (i > lineStart && isLowSurrogate(win.charCodeAt(i)) && isHighSurrogate(win.charCodeAt(i - 1))) i--;
      const len = utf8Length(win.codePointAt(i)!);
      if (bytes + len > wantBytes) break;
      bytes += len;
      start = i;
    }
    const ids = tok.encodePlain(win.slice(start));
    if (ids.length <= budget) return { start, ids };
    room -= ids.length - budget;
  }
  return { start: lineEnd, ids: restIds };
}

/**
 * Keeps the longest start of `text` whose plain encoding has at most `budget` tokens.
 * Whole lines are dropped from the end; a line is only cut inside when it alone exceeds the budget.
 */
function fitStart(tok: TokenizerWrapper, text: string, budget: number): Fit {
  if (text.length === 0) return { text: '', ids: [], truncated: false };
  if (budget <= 0) return { text: '', ids: [], truncated: true };
  let end = Math.min(text.length, budget * CHARS_PER_TOKEN_WINDOW);
  if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
  const win = text.slice(0, end);
  // Segment ends: just after every newline, and the window's end.
  const ends: number[] = [];
  for (let i = win.indexOf('\n'); i !== -1; i = win.indexOf('\n', i + 1)) ends.push(i + 1);
  if (ends[ends.length - 1] !== win.length) ends.push(win.length);
  // The window may end inside a line; that piece is kept only when the window holds no whole line.
  const maxN = end < text.length && win[win.length - 1] !== '\n' && ends.length > 1 ? ends.length - 1 : ends.length;

  if (maxN === ends.length) {
    const whole = tok.encodePlain(win);
    if (whole.length <= budget) return { text: win, ids: whole, truncated: end < text.length };
  }

  const counts = ends.map((e, k) => tok.encodePlain(win.slice(k === 0 ? 0 : ends[k - 1], e)).length);
  // Largest n such that lines 0..n-1 fit by the estimate; confirmed by a real encoding as in fitEnd.
  let n = 0;
  let sum = 0;
  while (n < maxN && sum + counts[n] <= budget) sum += counts[n++];
  let ids: number[] = [];
  let kept = 0;
  while (n > 0) {
    const head = tok.encodePlain(win.slice(0, ends[n - 1]));
    const excess = head.length - budget;
    if (excess <= 0) {
      ids = head;
      kept = ends[n - 1];
      break;
    }
    for (let dropped = 0; n > 0 && dropped < excess; ) dropped += counts[--n];
  }
  // The first line that did not fit: cut inside it only when it alone is over the budget.
  if (n < ends.length && counts[n] > budget) {
    const cut = cutLineStart(tok, win, kept, ends[n], budget, ids);
    kept = cut.end;
    ids = cut.ids;
  }
  return { text: win.slice(0, kept), ids, truncated: true };
}

/** Mirror of cutLineEnd: cuts win[lineStart, lineEnd) so that win.slice(0, end) fits the budget. */
function cutLineStart(
  tok: TokenizerWrapper,
  win: string,
  lineStart: number,
  lineEnd: number,
  budget: number,
  restIds: number[],
): { end: number; ids: number[] } {
  const lineIds = tok.encodePlain(win.slice(lineStart, lineEnd));
  let room = budget - restIds.length;
  for (let attempt = 0; attempt < 8 && room > 0; attempt++) {
    const wantBytes = byteLength(tok, lineIds.slice(0, room));
    let end = lineStart;
    let bytes = 0;
    while (end < lineEnd) {
      const cp = win.codePointAt(end)!;
      const len = utf8Length(cp);
      if (bytes + len > wantBytes) break;
      bytes += len;
      end += cp > 0xffff ? 2 : 1;
    }
    const ids = tok.encodePlain(win.slice(0, end));
    if (ids.length <= budget) return { end, ids };
    room -= ids.length - budget;
  }
  return { end: lineStart, ids: restIds };
}
