/**
 * The tasks of `lockstep bench quality`: cursor points in the files of held-out packages, each with the code that
 * was removed (the reference). As CrossCodeEval (Ding et al. 2023) selects them, most points are lines that use a
 * name defined in another file of the same package (and not in the current file), so the completion needs
 * cross-file context; random points measure that the context does not hurt ordinary completions.
 *
 *  - line:  the cursor after a line's indentation, the rest of the line removed (the reference);
 *  - block: the same cursor, that line and the following ones of its block removed (up to a line indented less or a
 *           blank line, at most BLOCK_MAX_LINES — the engine's 'block' stop rule), kept when it spans ≥ 2 lines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../../src/cli/prompts';

export interface PackageFile {
  /** Package-relative, forward slashes, without the fixtures' `.txt`. */
  path: string;
  text: string;
}

export interface HeldoutPackage {
  name: string;
  files: PackageFile[];
}

export type TaskKind = 'line' | 'block';
export type TaskSelection = 'cross-file' | 'random';

export interface QualityTask {
  /** package:path:line:kind */
  id: string;
  package: string;
  path: string;
  kind: TaskKind;
  selection: TaskSelection;
  before: string;
  after: string;
  reference: string;
  /** Imported names (binding, or binding.member declared in the imported file) the cursor's line uses. */
  crossFile: string[];
}

const CODE = /\.(js|mjs|cjs|ts|tsx|jsx|mts|cts)$/;
const COMMENT_START = /^(\/\/|\/\*|\*)/;
const IMPORT_LINE = /^(import\b|export\s+\{|export\s+\*|.*\brequire\s*\()/;
const IDENTIFIER = /[A-Za-z_$][A-Za-z0-9_$]*/g;
const BLOCK_MAX_LINES = 8;
const KEYWORDS = new Set(['if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'new', 'typeof', 'else', 'do', 'try']);

/** The code files under `dir` (recursively; `.txt` suffixes stripped, licences and READMEs skipped), sorted by path. */
export function loadPackage(dir: string, name = path.basename(dir)): HeldoutPackage {
  const files: PackageFile[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(full);
        continue;
      }
      const rel = path.relative(dir, full).split(path.sep).join('/').replace(/\.txt$/, '');
      if (CODE.test(rel)) files.push({ path: rel, text: fs.readFileSync(full, 'utf8').replace(/\r\n/g, '\n') });
    }
  };
  walk(dir);
  return { name, files };
}

/** Names a file declares: functions, classes, variables, and methods / object members at a line start. */
export function declaredNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b(?:function\*?|class|const|let|var)\s+([A-Za-z_$][A-Za-z0-9_$]*)/g)) out.add(m[1]);
  for (const m of text.matchAll(/^[ \t]*(?:async\s+|static\s+|get\s+|set\s+)*([A-Za-z_$][A-Za-z0-9_$]*)\s*(?:\([^)\n]*\)\s*\{|:\s*(?:async\s+)?function\b)/gm)) {
    if (!KEYWORDS.has(m[1])) out.add(m[1]);
  }
  return out;
}

function indentWidth(line: string): number {
  let w = 0;
  for (const ch of /^[ \t]*/.exec(line)![0]) w += ch === '\t' ? 4 : 1;
  return w;
}

interface Point {
  file: PackageFile;
  line: number;
  crossFile: string[];
}

/** Line and block tasks at one cursor point (after the indentation of `lines[i]`). */
function tasksAt(pkg: string, p: Point, selection: TaskSelection): QualityTask[] {
  const lines = p.file.text.split('\n');
  const starts = [0];
  for (const l of lines) starts.push(starts[starts.length - 1] + l.length + 1);
  const line = lines[p.line];
  const indent = /^[ \t]*/.exec(line)![0].length;
  const cursor = starts[p.line] + indent;
  const before = p.file.text.slice(0, cursor);
  const id = (kind: TaskKind) => `${pkg}:${p.file.path}:${p.line + 1}:${kind}`;
  const out: QualityTask[] = [{
    id: id('line'), package: pkg, path: p.file.path, kind: 'line', selection, before,
    after: p.file.text.slice(starts[p.line] + line.length), reference: line.slice(indent), crossFile: p.crossFile,
  }];
  const base = indentWidth(line);
  let end = p.line + 1;
  while (end < lines.length && end - p.line < BLOCK_MAX_LINES && lines[end].trim() !== '' && indentWidth(lines[end]) >= base) end++;
  if (end - p.line >= 2) {
    const stop = starts[end - 1] + lines[end - 1].length;
    out.push({
      id: id('block'), package: pkg, path: p.file.path, kind: 'block', selection, before,
      after: p.file.text.slice(stop), reference: p.file.text.slice(cursor, stop), crossFile: p.crossFile,
    });
  }
  return out;
}

function shuffle<T>(xs: T[], seed: number): T[] {
  const rand = mulberry32(seed);
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

export interface TaskCounts {
  /** Cursor points whose line uses a name defined in another file of the package. */
  crossFile: number;
  /** Cursor points on any code line. */
  random: number;
  seed?: number;
}

const IMPORT_FROM = /import\s+([^'";]+?)\s+from\s+['"](\.{1,2}\/[^'"]+)['"]/g;

/** The package file a relative import names (with the extension or /index.js added when the specifier lacks them). */
function resolveImport(files: ReadonlyMap<string, PackageFile>, from: string, spec: string): PackageFile | undefined {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  return files.get(base) ?? files.get(`${base}.js`) ?? files.get(`${base}.ts`) ?? files.get(`${base}/index.js`);
}

/**
 * Cross-file names of a file: each binding it imports from another file of the package, and each `binding.member`
 * whose member that file declares (CrossCodeEval's criterion: the code uses an API defined in an imported file).
 */
export function crossFileUses(file: PackageFile, files: ReadonlyMap<string, PackageFile>): (line: string) => string[] {
  const bindings = new Map<string, Set<string>>();
  for (const m of file.text.matchAll(IMPORT_FROM)) {
    const target = resolveImport(files, file.path, m[2]);
    if (!target || target.path === file.path) continue;
    const declared = declaredNames(target.text);
    for (const b of m[1].replace(/[{}*]|\bas\b/g, ' ').split(/[\s,]+/).filter((x) => /^[A-Za-z_$][\w$]*$/.test(x))) bindings.set(b, declared);
  }
  return (line) => {
    const used = new Set<string>();
    for (const m of line.matchAll(/([A-Za-z_$][\w$]*)(?:\.([A-Za-z_$][\w$]*))?/g)) {
      const declared = bindings.get(m[1]);
      if (!declared) continue;
      used.add(m[2] !== undefined && declared.has(m[2]) ? `${m[1]}.${m[2]}` : m[1]);
    }
    return [...used];
  };
}

/**
 * Seeded cursor points over the packages (each gives a line task and, when its block spans ≥ 2 lines, a block task).
 * Random points are drawn from every candidate line except the chosen cross-file ones. Fewer when the packages have
 * fewer candidates.
 */
export function selectTasks(pkgs: readonly HeldoutPackage[], counts: TaskCounts): QualityTask[] {
  const seed = counts.seed ?? 1;
  const cross: { pkg: string; p: Point }[] = [];
  const plain: { pkg: string; p: Point }[] = [];
  for (const pkg of pkgs) {
    const byPath = new Map(pkg.files.map((f) => [f.path, f]));
    for (const file of pkg.files) {
      const uses = crossFileUses(file, byPath);
      const lines = file.text.split('\n');
      for (let i = 4; i < lines.length; i++) {
        const body = lines[i].trim();
        if (body.length < 8 || COMMENT_START.test(body) || IMPORT_LINE.test(body) || !/[A-Za-z_$]/.test(body)) continue;
        const used = uses(body);
        (used.length > 0 ? cross : plain).push({ pkg: pkg.name, p: { file, line: i, crossFile: used } });
      }
    }
  }
  const pick = (xs: { pkg: string; p: Point }[], n: number, s: number) => shuffle(xs, s).slice(0, n);
  const chosen = pick(cross, counts.crossFile, seed);
  const taken = new Set(chosen.map((x) => x.p));
  const others = [...cross.filter((x) => !taken.has(x.p)), ...plain];
  return [
    ...chosen.flatMap((x) => tasksAt(x.pkg, x.p, 'cross-file')),
    ...pick(others, counts.random, seed + 1).flatMap((x) => tasksAt(x.pkg, x.p, 'random')),
  ];
}
