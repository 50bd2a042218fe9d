/**
 * Cross-file context for a completion: candidate files (imports of the current file, open editor tabs, recently
 * edited and recently viewed files, in that priority) → their windows (kept per file version in a WindowIndex) →
 * the best windows for the text around the cursor (snippets.ts, Jaccard) → RequestContext. The engine process
 * tokenizes and fits them (contextPrompt.ts), so the extension host only compares identifier sets.
 *
 * What is read: only in a trusted workspace; only `file:` documents inside a workspace folder (real paths, so a
 * symlink cannot lead out of it); never files matched by `files.exclude` or `lockstep.contextExclude`; never files
 * over 256 KB or binary ones. Open documents are read from the editor (their unsaved text, by version), other files
 * from disk (by mtime and size), so a snippet never outlives its edit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RequestContext } from '../engine/request/requests';
import { SNIPPET_CHARS_PER_TOKEN, identifierSet, queryText, selectSnippets, type IndexedFile } from '../engine/prompt/snippets';
import { ExcludeMatcher, RecentList, WindowIndex, enabledGlobs, importCandidates, looksBinary } from './contextFiles';
import type { LockstepSettings } from './settings';

/** Files larger than this are never read (generated bundles, data). */
export const MAX_CONTEXT_FILE_BYTES = 256 * 1024;
/** Candidate files per completion at most (the bench measures 50). */
export const MAX_CONTEXT_FILES = 50;
/** Lines at the top of a file searched for imports. */
const IMPORT_LINES = 200;
/** Import resolutions are re-checked on disk after this long (a file created meanwhile is found). */
const IMPORT_TTL_MS = 5_000;
/** Real paths (symlink checks) are re-checked after this long. */
const PATH_TTL_MS = 5_000;

type Settings = Pick<LockstepSettings, 'contextEnable' | 'contextBudgetTokens' | 'contextSources' | 'contextExclude'>;

function within(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

export class ContextCollector implements vscode.Disposable {
  private readonly edits = new RecentList(20);
  private readonly views = new RecentList(20);
  private readonly index = new WindowIndex();
  private readonly subs: vscode.Disposable[] = [];
  private readonly realRoots = new Map<string, string>();
  private imports: { key: string; at: number; uris: vscode.Uri[] } | undefined;
  private excludes: { key: string; matcher: ExcludeMatcher } | undefined;
  /** Real paths checked recently (a file's real path rarely changes; re-checked after PATH_TTL_MS). */
  private readonly realPaths = new Map<string, { at: number; real: string | undefined }>();

  constructor() {
    const ws = vscode.workspace;
    const win = vscode.window;
    if (typeof ws.onDidChangeTextDocument === 'function') {
      this.subs.push(ws.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.edits.touch(e.document.uri.toString());
      }));
    }
    if (typeof win.onDidChangeActiveTextEditor === 'function') {
      this.subs.push(win.onDidChangeActiveTextEditor((e) => {
        if (e) this.views.touch(e.document.uri.toString());
      }));
    }
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }

  /** The context for a completion in `doc` with the window `before`/`after`, or undefined when there is none. */
  collect(doc: vscode.TextDocument, before: string, after: string, s: Settings): RequestContext | undefined {
    if (!s.contextEnable || s.contextBudgetTokens <= 0 || s.contextSources.length === 0) return undefined;
    if (vscode.workspace.isTrusted === false) return undefined;
    if (doc.uri.scheme !== 'file') return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri);
    if (folder === undefined) return undefined;
    const currentKey = doc.uri.toString();
    const open = new Map<string, vscode.TextDocument>();
    for (const d of vscode.workspace.textDocuments) open.set(d.uri.toString(), d);

    const seen = new Set<string>([currentKey]);
    const files: IndexedFile[] = [];
    const matchers = new Map<string, ExcludeMatcher>();
    const matcher = (f: vscode.WorkspaceFolder): ExcludeMatcher => {
      let m = matchers.get(f.uri.toString());
      if (m === undefined) matchers.set(f.uri.toString(), (m = this.matcher(f, s)));
      return m;
    };
    const consider = (uri: vscode.Uri | undefined): void => {
      if (uri === undefined || files.length >= MAX_CONTEXT_FILES) return;
      const key = uri.toString();
      if (seen.has(key)) return;
      seen.add(key);
      const f = this.indexed(uri, key, open.get(key), matcher);
      if (f !== undefined && f.windows.length > 0) files.push(f);
    };
    const byKey = (k: string): vscode.Uri | undefined => open.get(k)?.uri ?? vscode.Uri.parse(k);
    for (const source of s.contextSources) {
      if (source === 'imports') for (const u of this.importsOf(doc, folder)) consider(u);
      if (source === 'openEditors') for (const u of openTabs()) consider(u);
      if (source === 'recentEdits') for (const k of this.edits.list()) consider(byKey(k));
      if (source === 'recentViews') for (const k of this.views.list()) consider(byKey(k));
    }
    if (files.length === 0) return undefined;
    const snippets = selectSnippets(files, identifierSet(queryText(before, after)), {
      maxChars: s.contextBudgetTokens * SNIPPET_CHARS_PER_TOKEN,
    });
    if (snippets.length === 0) return undefined;
    return {
      path: relative(folder, doc.uri),
      repoName: folder.name,
      snippets: snippets.map((x) => ({ path: x.path, text: x.text })),
      budgetTokens: s.contextBudgetTokens,
    };
  }

  /** A candidate's windows, or undefined when it may not or cannot be read. */
  private indexed(
    uri: vscode.Uri, key: string, doc: vscode.TextDocument | undefined, matcher: (f: vscode.WorkspaceFolder) => ExcludeMatcher,
  ): IndexedFile | undefined {
    if (uri.scheme !== 'file') return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (folder === undefined) return undefined;
    const rel = relative(folder, uri);
    if (matcher(folder).excludes(rel)) return undefined;
    const real = this.realInside(folder, uri.fsPath);
    if (real === undefined) return undefined;
    if (doc !== undefined) {
      return this.index.get(key, `v${doc.version}`, rel, () => {
        const t = doc.getText();
        return t.length > MAX_CONTEXT_FILE_BYTES || looksBinary(t) ? undefined : t;
      });
    }
    let st: fs.Stats;
    try {
      // lstat: a file replaced by a symbolic link since its real path was checked is not a file here.
      st = fs.lstatSync(real);
    } catch {
      return undefined;
    }
    if (!st.isFile() || st.size > MAX_CONTEXT_FILE_BYTES) return undefined;
    return this.index.get(key, `d${st.mtimeMs}:${st.size}`, rel, () => {
      try {
        const t = fs.readFileSync(real, 'utf8');
        return looksBinary(t) ? undefined : t;
      } catch {
        return undefined;
      }
    });
  }

  /** The file's real path when it lies inside the folder's real path (no symlink escapes), else undefined. */
  private realInside(folder: vscode.WorkspaceFolder, fsPath: string): string | undefined {
    const now = Date.now();
    const known = this.realPaths.get(fsPath);
    if (known !== undefined && now - known.at < PATH_TTL_MS) return known.real;
    const real = this.checkReal(folder, fsPath);
    if (this.realPaths.size > 1000) this.realPaths.clear();
    this.realPaths.set(fsPath, { at: now, real });
    return real;
  }

  private checkReal(folder: vscode.WorkspaceFolder, fsPath: string): string | undefined {
    try {
      let root = this.realRoots.get(folder.uri.fsPath);
      if (root === undefined) {
        root = fs.realpathSync(folder.uri.fsPath);
        this.realRoots.set(folder.uri.fsPath, root);
      }
      let real: string;
      try {
        real = fs.realpathSync(fsPath);
      } catch {
        // A new file not saved yet: its folder must be inside.
        real = path.join(fs.realpathSync(path.dirname(fsPath)), path.basename(fsPath));
      }
      return within(root, real) ? real : undefined;
    } catch {
      return undefined;
    }
  }

  /** files.exclude of the folder + lockstep.contextExclude, compiled once per change of either. */
  private matcher(folder: vscode.WorkspaceFolder, s: Settings): ExcludeMatcher {
    const globs = [...enabledGlobs(vscode.workspace.getConfiguration('files', folder.uri).get('exclude')), ...s.contextExclude];
    const key = JSON.stringify(globs);
    if (this.excludes?.key !== key) this.excludes = { key, matcher: new ExcludeMatcher(globs) };
    return this.excludes.matcher;
  }

  /** The workspace files the document's first lines import (the first candidate of each import that exists). */
  private importsOf(doc: vscode.TextDocument, folder: vscode.WorkspaceFolder): vscode.Uri[] {
    const lines: string[] = [];
    for (let i = 0; i < Math.min(doc.lineCount, IMPORT_LINES); i++) lines.push(doc.lineAt(i).text);
    const head = lines.join('\n');
    const key = `${doc.uri.toString()}\n${doc.languageId}\n${head}`;
    const now = Date.now();
    if (this.imports?.key === key && now - this.imports.at < IMPORT_TTL_MS) return this.imports.uris;
    const uris: vscode.Uri[] = [];
    for (const candidates of importCandidates(head, relative(folder, doc.uri), doc.languageId)) {
      for (const c of candidates) {
        const uri = vscode.Uri.joinPath(folder.uri, ...c.split('/'));
        if (fs.existsSync(uri.fsPath)) {
          uris.push(uri);
          break;
        }
      }
    }
    this.imports = { key, at: now, uris };
    return uris;
  }
}

function relative(folder: vscode.WorkspaceFolder, uri: vscode.Uri): string {
  return path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
}

/** The files of the editor's tabs (text tabs only), in tab order. */
function openTabs(): vscode.Uri[] {
  const out: vscode.Uri[] = [];
  for (const e of vscode.window.visibleTextEditors ?? []) out.push(e.document.uri);
  for (const g of vscode.window.tabGroups?.all ?? []) {
    for (const t of g.tabs) {
      const uri = (t.input as { uri?: vscode.Uri } | undefined)?.uri;
      if (typeof uri?.fsPath === 'string' && typeof uri.scheme === 'string') out.push(uri);
    }
  }
  return out;
}
