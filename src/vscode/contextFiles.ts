/**
 * Cross-file context in the extension host, the pure parts (no `vscode` import): which files a document imports,
 * exclusion globs, the recently used files, and the per-file window index reused across keystrokes. Paths are
 * workspace-relative with forward slashes.
 */
import * as path from 'node:path';
import { IdentifierTable, indexFile, type IndexedFile } from '../engine/prompt/snippets';

// ------------------------------------------------------------------ imports

const JS_SPEC = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"\n]*)\1/g;
const PY_FROM = /^\s*from\s+(\.*)([A-Za-z_][\w.]*)?\s+import\s+([^\n#]+)/gm;
const PY_IMPORT = /^\s*import\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)/gm;
const JS_EXTENSIONS = ['.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts'];
const PY_LANGUAGES = new Set(['python']);

/** A workspace-relative path, or undefined when `p` leaves the workspace folder. */
function inside(p: string): string | undefined {
  const n = path.posix.normalize(p);
  return n.startsWith('../') || n === '..' || path.posix.isAbsolute(n) ? undefined : n.replace(/^\.\//, '');
}

/**
 * The files `text` (the document at `currentPath`) may import, as candidate paths per import in source order: the
 * first candidate that exists is the import. JavaScript/TypeScript: relative `import … from`, `export … from`,
 * `import()`, `require()`. Python: `from .x import y`, `from . import x`, `import a.b`, `from a.b import c` (from the
 * workspace root and from the file's folder). Bare package names (node_modules, site-packages) are never candidates.
 */
export function importCandidates(text: string, currentPath: string, languageId: string): string[][] {
  const dir = path.posix.dirname(currentPath);
  const out: string[][] = [];
  const add = (list: (string | undefined)[]): void => {
    const ok = [...new Set(list.filter((x): x is string => x !== undefined))];
    if (ok.length > 0) out.push(ok);
  };
  if (PY_LANGUAGES.has(languageId)) {
    const module = (base: string, dotted: string): (string | undefined)[] => {
      const p = path.posix.join(base, ...dotted.split('.'));
      return [inside(`${p}.py`), inside(`${p}/__init__.py`)];
    };
    for (const m of text.matchAll(PY_FROM)) {
      const dots = m[1].length;
      const names = m[3].replace(/[()]/g, '').split(',').map((s) => s.trim().split(/\s+/)[0]).filter((s) => /^[A-Za-z_]\w*$/.test(s));
      const bases = dots === 0 ? ['.', dir] : [path.posix.join(dir, ...Array<string>(dots - 1).fill('..'))];
      for (const base of bases) {
        if (m[2] !== undefined) add(module(base, m[2]));
        // `from pkg import mod` may name a module of the package.
        for (const n of names) add(module(base, m[2] === undefined ? n : `${m[2]}.${n}`));
      }
    }
    for (const m of text.matchAll(PY_IMPORT)) {
      for (const name of m[1].split(',').map((s) => s.trim())) add([...module('.', name), ...module(dir, name)]);
    }
    return out;
  }
  for (const m of text.matchAll(JS_SPEC)) {
    const rel = path.posix.join(dir, m[2]);
    const ext = path.posix.extname(rel);
    if (JS_EXTENSIONS.includes(ext)) {
      // TypeScript imports './x.js' for the source file x.ts.
      const stem = rel.slice(0, -ext.length);
      add([inside(rel), ...(ext === '.js' ? [inside(`${stem}.ts`), inside(`${stem}.tsx`)] : [])]);
    } else {
      add([...JS_EXTENSIONS.map((e) => inside(rel + e)), ...JS_EXTENSIONS.map((e) => inside(`${rel}/index${e}`))]);
    }
  }
  return out;
}

// ------------------------------------------------------------------ globs

/** A VS Code-style glob (`**`, `*`, `?`, `{a,b}`, `[…]`) as a RegExp over a relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let braces = 0;
  const g = glob.replace(/^\.\//, '');
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*' && g[i + 1] === '*') {
      const slashAfter = g[i + 2] === '/';
      re += slashAfter ? '(?:[^/]*/)*' : '.*';
      i += slashAfter ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else if (c === '[') {
      const end = g.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        re += `[${g.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}${')'.repeat(braces)}$`);
}

/** Compiled exclusion globs: a path is excluded when a glob matches it or one of its folders. */
export class ExcludeMatcher {
  private readonly res: RegExp[];
  constructor(globs: readonly string[]) {
    this.res = globs.map(globToRegExp);
  }
  excludes(relPath: string): boolean {
    if (this.res.length === 0) return false;
    const parts = relPath.split('/');
    for (let k = 1; k <= parts.length; k++) {
      const prefix = parts.slice(0, k).join('/');
      if (this.res.some((r) => r.test(prefix))) return true;
    }
    return false;
  }
}

/** The globs of a `files.exclude`-style object that are on (`true`; a `{when}` condition is treated as on). */
export function enabledGlobs(obj: unknown): string[] {
  if (obj === null || typeof obj !== 'object') return [];
  return Object.entries(obj as Record<string, unknown>).filter(([, v]) => v === true || (typeof v === 'object' && v !== null)).map(([k]) => k);
}

// ------------------------------------------------------------------ recent files and the index

/** The most recently used keys, newest first, at most `capacity`. */
export class RecentList {
  private items: string[] = [];
  constructor(private readonly capacity = 20) {}
  touch(key: string): void {
    if (this.items[0] === key) return;
    this.items = [key, ...this.items.filter((k) => k !== key)].slice(0, this.capacity);
  }
  remove(key: string): void {
    this.items = this.items.filter((k) => k !== key);
  }
  list(): readonly string[] {
    return this.items;
  }
}

/**
 * Each file's windows, kept while its stamp (a document version, or a file's mtime and size) is unchanged: an edit
 * gives a new stamp, so a stale window never outlives its edit; the text is read only when the stamp changes.
 */
export class WindowIndex {
  private readonly entries = new Map<string, { stamp: string; file: IndexedFile }>();
  private table = new IdentifierTable();
  constructor(private readonly capacity = 200, private readonly maxIdentifiers = 500_000) {}

  get(key: string, stamp: string, relPath: string, read: () => string | undefined): IndexedFile | undefined {
    // The identifier table only grows: past its bound, start over (every file is indexed again when next used).
    if (this.table.size > this.maxIdentifiers) {
      this.entries.clear();
      this.table = new IdentifierTable();
    }
    const e = this.entries.get(key);
    if (e !== undefined && e.stamp === stamp && e.file.path === relPath) return e.file;
    const text = read();
    if (text === undefined) {
      this.entries.delete(key);
      return undefined;
    }
    const file = indexFile({ path: relPath, text }, { table: this.table });
    this.entries.delete(key);
    this.entries.set(key, { stamp, file });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    return file;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Text that is not worth indexing: a NUL byte (binary) in its first 8 KB. */
export function looksBinary(text: string): boolean {
  return text.slice(0, 8192).includes('\0');
}
