/**
 * Completions already generated, so that typing along a shown suggestion keeps showing its remainder without a new
 * generation. No `vscode` import.
 *
 * An entry is keyed by document and by a fingerprint of everything that decides the text (target, seed, coupling,
 * sampling, mode …; not the drafter, for the invariant couplings: every drafter gives the same bytes). It matches a
 * later cursor when the text before that cursor is the entry's text-before plus a prefix of the completion that the
 * user has typed (checked on the last `contextChars` characters before the generation point), and the text after
 * the cursor starts as it did. The remainder of the completion is returned; once all of it is typed, nothing.
 */

export interface CacheHit<M> {
  /** The part of the completion not typed yet (never empty). */
  remainder: string;
  /** The part already typed. */
  typed: string;
  /** The whole cached completion. */
  text: string;
  meta: M;
}

interface Entry<M> {
  doc: string;
  fingerprint: string;
  /** The last contextChars characters before the cursor when the completion was made. */
  tail: string;
  /** True when `tail` is the whole text before that cursor (start of the document). */
  fromStart: boolean;
  /** The first afterChars characters after the cursor. */
  afterHead: string;
  text: string;
  meta: M;
}

export interface CacheOptions {
  /** Entries kept (least recently used dropped first). */
  capacity?: number;
  /** Characters before the generation point compared on lookup. */
  contextChars?: number;
  /** Characters after the cursor compared on lookup. */
  afterChars?: number;
}

export class CompletionCache<M = unknown> {
  private entries: Entry<M>[] = [];
  private readonly capacity: number;
  private readonly contextChars: number;
  private readonly afterChars: number;

  constructor(opts: CacheOptions = {}) {
    this.capacity = opts.capacity ?? 64;
    this.contextChars = opts.contextChars ?? 512;
    this.afterChars = opts.afterChars ?? 256;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Remembers a completion made with `before` / `after` around the cursor. Empty completions are not kept. */
  put(doc: string, fingerprint: string, before: string, after: string, text: string, meta: M): void {
    if (text === '') return;
    const tail = before.length > this.contextChars ? before.slice(before.length - this.contextChars) : before;
    const entry: Entry<M> = {
      doc,
      fingerprint,
      tail,
      fromStart: tail.length === before.length,
      afterHead: after.slice(0, this.afterChars),
      text,
      meta,
    };
    // The same place again replaces the old entry.
    this.entries = this.entries.filter(
      (e) => !(e.doc === doc && e.fingerprint === fingerprint && e.tail === entry.tail && e.afterHead === entry.afterHead),
    );
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
  }

  /** The remainder of a cached completion that the text around the cursor continues, most recent entry first. */
  lookup(doc: string, fingerprint: string, before: string, after: string): CacheHit<M> | undefined {
    const afterHead = after.slice(0, this.afterChars);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.doc !== doc || e.fingerprint !== fingerprint) continue;
      if (!afterMatches(e.afterHead, afterHead, this.afterChars)) continue;
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
 * The text after the cursor must be what it was. Both heads are cut to the same length, so a window that grew or
 * shrank at its far end (a long document) still matches.
 */
function afterMatches(cached: string, now: string, limit: number): boolean {
  if (cached === now) return true;
  // One of them was cut at `limit` characters: compare the common length only when both are that long.
  if (cached.length === limit || now.length === limit) {
    const n = Math.min(cached.length, now.length);
    return n === limit && cached.slice(0, n) === now.slice(0, n);
  }
  return false;
}

/** How many characters of the completion have been typed since it was made, or undefined when `before` does not continue it. */
function typedPrefix(e: Entry<unknown>, before: string): number | undefined {
  const text = e.text;
  // k = characters typed; the remainder must not be empty.
  for (let k = 0; k < text.length; k++) {
    const at = before.length - k;
    if (at < e.tail.length) break;
    if (e.fromStart && at !== e.tail.length) continue;
    if (k > 0 && before.charCodeAt(at) !== text.charCodeAt(0)) continue;
    if (!before.startsWith(text.slice(0, k), at)) continue;
    if (!before.startsWith(e.tail, at - e.tail.length)) continue;
    return k;
  }
  return undefined;
}
