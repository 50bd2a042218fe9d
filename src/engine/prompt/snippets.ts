/**
 * Cross-file context, step 1: which pieces of other files go into the prompt. Pure and tokenizer-free, so the
 * extension host can run it on every keystroke and the engine (contextPrompt.ts) only tokenizes what was chosen.
 *
 * Files are cut into fixed-size line windows; each window is scored by the Jaccard similarity of its identifier set
 * with the identifiers around the cursor — the retrieval of CrossCodeEval (Ding et al. 2023) and of Copilot's
 * neighbouring tabs. Windows are deduplicated (the same text twice, or two overlapping windows of one file, keep
 * only the better one) and taken best first up to a character bound; the engine then fits them to a token budget.
 */

import type { RequestContext } from './requestContext';

export interface ContextFile {
  /** Workspace-relative path with forward slashes. */
  path: string;
  text: string;
}

/** A piece of another file chosen for the prompt. */
export interface Snippet {
  path: string;
  /** Whole lines, ending with '\n'. */
  text: string;
  /** 0-based first line of the window in its file. */
  startLine: number;
  /** Jaccard similarity with the text around the cursor. */
  score: number;
}

/** A window of a file with its identifier set: computed once per file version, reused on every keystroke. */
export interface IndexedWindow {
  startLine: number;
  endLine: number;
  text: string;
  /** Its distinct identifiers as codes of the file's IdentifierTable. */
  ids: Int32Array;
}

export interface IndexedFile {
  path: string;
  windows: readonly IndexedWindow[];
  /** The table its codes come from; files compared together share one. */
  table: IdentifierTable;
}

/**
 * Identifiers as small integers, so that scoring a window is a pass over an Int32Array against a flag array instead
 * of string hashing on every keystroke. It only grows; its owner drops it (and the files indexed with it) when it
 * gets large.
 */
export class IdentifierTable {
  private readonly codes = new Map<string, number>();
  private flags = new Uint8Array(256);

  get size(): number {
    return this.codes.size;
  }

  code(id: string): number {
    let c = this.codes.get(id);
    if (c === undefined) {
      c = this.codes.size;
      this.codes.set(id, c);
    }
    return c;
  }

  /**
   * Jaccard similarity of `query` with every window of `files` (in order), written to `out`. Identifiers of the query
   * that no window has cannot be shared, but count in the union.
   */
  scoreAll(query: ReadonlySet<string>, files: readonly IndexedFile[], out: Float64Array): void {
    if (this.flags.length < this.codes.size) this.flags = new Uint8Array(this.codes.size * 2);
    const flags = this.flags;
    const marked: number[] = [];
    for (const q of query) {
      const c = this.codes.get(q);
      if (c !== undefined) {
        flags[c] = 1;
        marked.push(c);
      }
    }
    let k = 0;
    for (const f of files) {
      for (const w of f.windows) {
        const ids = w.ids;
        let common = 0;
        for (let j = 0; j < ids.length; j++) common += flags[ids[j]];
        const union = query.size + ids.length - common;
        out[k++] = union === 0 ? 0 : common / union;
      }
    }
    for (const c of marked) flags[c] = 0;
  }
}

/** The table indexFile uses when given none. */
export const SHARED_IDENTIFIERS = new IdentifierTable();

/**
 * Characters of snippets chosen per token of the context budget: about what code takes (3–4 characters a token) plus
 * a margin, so the engine's fit (contextPrompt.ts) rarely has too little to choose from.
 */
export const SNIPPET_CHARS_PER_TOKEN = 5;

/** Lines per window and the step between windows (half a window, so a definition is never split by every cut). */
export const WINDOW_LINES = 16;
export const WINDOW_STRIDE = 8;
/** Lines around the cursor that make the query (before it; after it). */
export const QUERY_LINES_BEFORE = 16;
export const QUERY_LINES_AFTER = 4;

const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;

/** The identifiers of a text (JS/TS/Python-style names). */
export function identifierSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(IDENTIFIER)) out.add(m[0]);
  return out;
}

/** |a ∩ b| / |a ∪ b|; 0 when both are empty. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let common = 0;
  for (const x of small) if (large.has(x)) common++;
  const union = a.size + b.size - common;
  return union === 0 ? 0 : common / union;
}

export interface IndexOptions {
  table?: IdentifierTable;
  windowLines?: number;
  stride?: number;
}

/** A file's windows (whole lines, each ending with '\n'); windows without identifiers are left out. */
export function indexFile(file: ContextFile, opts: IndexOptions = {}): IndexedFile {
  const table = opts.table ?? SHARED_IDENTIFIERS;
  const windowLines = opts.windowLines ?? WINDOW_LINES;
  const stride = opts.stride ?? WINDOW_STRIDE;
  const lines = file.text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const windows: IndexedWindow[] = [];
  const step = Math.max(1, Math.min(stride, windowLines));
  for (let start = 0; start < lines.length; start += step) {
    const end = Math.min(lines.length, start + windowLines);
    const text = `${lines.slice(start, end).join('\n')}\n`;
    const ids = identifierSet(text);
    if (ids.size > 0) windows.push({ startLine: start, endLine: end, text, ids: Int32Array.from(ids, (x) => table.code(x)) });
    if (end === lines.length) break;
  }
  return { path: file.path, windows, table };
}

/** The text the windows are compared with: the lines just before the cursor and a few after it. */
export function queryText(before: string, after: string, linesBefore = QUERY_LINES_BEFORE, linesAfter = QUERY_LINES_AFTER): string {
  let b = before.length;
  for (let n = 0; n <= linesBefore && b > 0; n++) b = before.lastIndexOf('\n', b - 1);
  let a = 0;
  for (let n = 0; n <= linesAfter && a !== -1 && a < after.length; n++) a = after.indexOf('\n', a + 1);
  return before.slice(Math.max(0, b)) + after.slice(0, a === -1 ? after.length : a);
}

export interface SelectOptions {
  /** Stop once the chosen snippets hold this many characters (the engine cuts them to tokens). */
  maxChars: number;
  /** At most this many snippets. */
  maxSnippets?: number;
  /** Windows scoring at or below this are never chosen (0: any shared identifier). */
  minScore?: number;
}

/**
 * The best windows of `files` for the query's identifiers, best first. Ties go to the earlier file (callers list
 * files by priority) and then the earlier window, so the choice is deterministic.
 */
export function selectSnippets(files: readonly IndexedFile[], query: ReadonlySet<string>, opts: SelectOptions): Snippet[] {
  const minScore = opts.minScore ?? 0;
  const maxSnippets = opts.maxSnippets ?? 64;
  if (query.size === 0 || opts.maxChars <= 0) return [];
  if (files.length === 0) return [];
  const table = files[0].table;
  if (files.some((f) => f.table !== table)) throw new Error('selectSnippets: the files were indexed with different identifier tables');
  // Scores in flat arrays, no object per window: this runs on every keystroke over every window.
  let total = 0;
  for (const f of files) total += f.windows.length;
  const all = new Float64Array(total);
  table.scoreAll(query, files, all);
  const score = new Float64Array(total);
  const fileOf = new Uint32Array(total);
  const windowOf = new Uint32Array(total);
  let n = 0;
  let k = 0;
  for (let fi = 0; fi < files.length; fi++) {
    const ws = files[fi].windows;
    for (let wi = 0; wi < ws.length; wi++, k++) {
      if (all[k] > minScore) {
        score[n] = all[k];
        fileOf[n] = fi;
        windowOf[n] = wi;
        n++;
      }
    }
  }
  // Index order is (file, window) order, so a stable sort by score alone breaks ties deterministically.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => score[y] - score[x] || x - y);
  const out: Snippet[] = [];
  const texts = new Set<string>();
  const taken: { file: number; w: IndexedWindow }[] = [];
  let chars = 0;
  for (const i of order) {
    if (out.length >= maxSnippets || chars >= opts.maxChars) break;
    const file = fileOf[i];
    const w = files[file].windows[windowOf[i]];
    if (chars + w.text.length > opts.maxChars) continue;
    if (texts.has(w.text)) continue;
    if (taken.some((t) => t.file === file && t.w.startLine < w.endLine && w.startLine < t.w.endLine)) continue;
    texts.add(w.text);
    taken.push({ file, w });
    chars += w.text.length;
    out.push({ path: files[file].path, text: w.text, startLine: w.startLine, score: score[i] });
  }
  return out;
}

/**
 * Whole files → the snippets for a cursor in `current`, best first (the one-call form for benchmarks and tools;
 * the extension keeps IndexedFiles between keystrokes instead). The current file itself is never a source: its
 * text around the cursor is already the FIM part of the prompt.
 */
export function rankContext(
  files: readonly ContextFile[],
  current: { path: string; before: string; after: string },
  opts: SelectOptions,
): Snippet[] {
  const indexed = files.filter((f) => f.path !== current.path).map((f) => indexFile(f));
  return selectSnippets(indexed, identifierSet(queryText(current.before, current.after)), opts);
}

/**
 * What the extension sends with a request, from whole files (files in priority order: imports, open editors, recent
 * edits, recent views): the best snippets for the cursor within budgetTokens × SNIPPET_CHARS_PER_TOKEN characters.
 * Undefined when no snippet shares an identifier with the text around the cursor (the plain FIM prompt).
 */
export function requestContext(
  files: readonly ContextFile[],
  current: { path: string; before: string; after: string },
  budgetTokens: number,
  repoName = 'workspace',
): RequestContext | undefined {
  const snippets = rankContext(files, current, { maxChars: budgetTokens * SNIPPET_CHARS_PER_TOKEN });
  if (snippets.length === 0) return undefined;
  return { path: current.path, repoName, snippets: snippets.map((x) => ({ path: x.path, text: x.text })), budgetTokens };
}
