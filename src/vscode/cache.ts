/**
 * Completions already generated, so that typing along a shown suggestion keeps showing its remainder without a new
 * generation. No `vscode` import.
 *
 * An entry is keyed by document, by cacheKey(request) — requestKey (engine/request/requestKey.ts: every request field
 * that can change the bytes, so not the drafter under the invariant couplings) without the window, plus the target —
 * and by the whole prompt window the engine was given: the text before the cursor and the text after it, as
 * extractWindow cut them (sha-256 of each, and their lengths). A cached completion is only served where it still
 * follows from (target, prompt, seed), as the seed in its tooltip promises:
 *  - the text after the cursor is the cached window, character for character;
 *  - the text before the cursor is the cached window plus a prefix of the completion that the user has typed
 *    (typing along the suggestion), nothing else. When the cached window was cut (a long document) it must be the
 *    end of the text before the typed part — the caller passes enough text before the cursor for that: the window
 *    plus lookBehind(doc) characters; when it reached the start of the document it must be all of it.
 * Any other edit anywhere in the window (renaming an identifier 5 000 characters above the cursor) is a miss. The
 * remainder of the completion is returned; once all of it is typed, nothing.
 */
import { createHash } from 'node:crypto';
import { requestKey } from '../engine/request/requestKey';
import type { CompletionRequest } from '../engine/request/requests';

/** What decides a completion's bytes besides its request (see cacheKey). */
export interface CacheScope {
  /** The target model's directory and variant: the request does not name the model that answers it. */
  target: string;
  variant?: string;
  /** The multiline setting ('auto', 'always', 'never'), standing for the request's mode. */
  multiline: string;
}

/**
 * A request's key in this cache: its requestKey without the window around the cursor (before, after), which the
 * cache compares itself to allow for a completion typed along, and without the mode, which that window and the
 * multiline setting decide: the setting stands for it, since typing along a block completion makes the cursor line
 * non-blank, where the mode chosen now would be 'line'.
 */
export function cacheKey(req: CompletionRequest, scope: CacheScope): string {
  return requestKey(req, { omit: ['before', 'after', 'mode'], scope: { ...scope } });
}

export interface CacheHit<M> {
  /** The part of the completion not typed yet (never empty). */
  remainder: string;
  /** The part already typed. */
  typed: string;
  /** The whole cached completion. */
  text: string;
  meta: M;
}

/** Characters of the window's end kept in the clear, to skip hashing at positions that cannot match. */
const TAIL_CHARS = 32;

interface Entry<M> {
  doc: string;
  /** cacheKey of the request it was made from. */
  key: string;
  /** The text before the cursor that the completion was made from (the prompt window's before-part): length, hash, end. */
  beforeLength: number;
  beforeHash: string;
  beforeTail: string;
  /** True when that window is the whole text before that cursor (it was not cut). */
  fromStart: boolean;
  /** The text after the cursor that it was made from (the window's after-part): length and hash. */
  afterLength: number;
  afterHash: string;
  text: string;
  meta: M;
}

export interface CacheOptions {
  /** Entries kept (least recently used dropped first). */
  capacity?: number;
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf16le').digest('base64');
}

export class CompletionCache<M = unknown> {
  private entries: Entry<M>[] = [];
  private readonly capacity: number;

  constructor(opts: CacheOptions = {}) {
    this.capacity = opts.capacity ?? 64;
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Remembers a completion made from the prompt window `before` / `after` around the cursor. `beforeCut` says the
   * window's before-part was cut (the document has more text above it; PromptWindow.truncatedBefore); false means
   * it is all the text before the cursor. Empty completions are not kept.
   */
  put(doc: string, key: string, before: string, after: string, text: string, meta: M, beforeCut = false): void {
    if (text === '') return;
    const entry: Entry<M> = {
      doc,
      key,
      beforeLength: before.length,
      beforeHash: sha256(before),
      beforeTail: before.slice(Math.max(0, before.length - TAIL_CHARS)),
      fromStart: !beforeCut,
      afterLength: after.length,
      afterHash: sha256(after),
      text,
      meta,
    };
    // The same place again replaces the old entry.
    this.entries = this.entries.filter(
      (e) => !(e.doc === doc && e.key === key && e.beforeHash === entry.beforeHash &&
        e.fromStart === entry.fromStart && e.afterHash === entry.afterHash),
    );
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /**
   * How many characters beyond the prompt window a lookup needs before the cursor: the longest completion kept for
   * `doc` (the most that can have been typed along one). 0 when nothing is kept.
   */
  lookBehind(doc: string): number {
    let n = 0;
    for (const e of this.entries) if (e.doc === doc && e.text.length > n) n = e.text.length;
    return n;
  }

  /**
   * The remainder of a cached completion that the text around the cursor continues, most recent entry first.
   * `before`: the text before the cursor — the prompt window's before-part, or (where the window was cut) that plus up
   * to lookBehind(doc) characters more; `after`: the window's after-part.
   */
  lookup(doc: string, key: string, before: string, after: string): CacheHit<M> | undefined {
    let afterHash: string | undefined;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.doc !== doc || e.key !== key || e.afterLength !== after.length) continue;
      afterHash ??= sha256(after);
      if (e.afterHash !== afterHash) continue;
      const typed = typedPrefix(e, before);
      if (typed === undefined) continue;
      // Most recently used goes last.
      this.entries.splice(i, 1);
      this.entries.push(e);
      return { remainder: e.text.slice(typed), typed: e.text.slice(0, typed), text: e.text, meta: e.meta };
    }
    return undefined;
  }

  /** Forgets a document's entries (closed), or everything. */
  clear(doc?: string): void {
    this.entries = doc === undefined ? [] : this.entries.filter((e) => e.doc !== doc);
  }
}

/**
 * How many characters of the completion have been typed since it was made, or undefined when `before` is not the
 * entry's window followed by a typed prefix of the completion.
 */
function typedPrefix(e: Entry<unknown>, before: string): number | undefined {
  const text = e.text;
  // k = characters typed; the remainder must not be empty.
  for (let k = 0; k < text.length; k++) {
    const at = before.length - k; // the generation point in `before`
    if (at < e.beforeLength) break;
    if (e.fromStart && at !== e.beforeLength) continue;
    if (k > 0 && before.charCodeAt(at) !== text.charCodeAt(0)) continue;
    if (!before.startsWith(text.slice(0, k), at)) continue;
    if (!before.startsWith(e.beforeTail, at - e.beforeTail.length)) continue;
    if (sha256(before.slice(at - e.beforeLength, at)) !== e.beforeHash) continue;
    return k;
  }
  return undefined;
}
