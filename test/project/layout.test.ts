/**
 * The layout the README's "How it works" describes, read from the code's own imports: no import circle among the
 * product's and the benchmarks' modules (type-only imports count: they couple the files as much), nothing in src/
 * imports bench/ statically (the CLI loads the benchmarks lazily), the engine never imports the editor, and no
 * source file grows past ~400 lines.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const MAX_LINES = 420;

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Relative modules a file imports statically (import/export … from, import 'x', top-level require); not import(). */
function staticImports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^(?:const|let|var)\s[^=]+=\s*require\(\s*['"]([^'"]+)['"]\s*\)/gm),
  ].map((m) => m[1]);
  const out: string[] = [];
  for (const spec of specs) {
    if (!spec.startsWith('.')) continue;
    const base = path.normalize(path.join(path.dirname(file), spec));
    for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
      if (fs.existsSync(path.join(ROOT, candidate))) {
        out.push(candidate);
        break;
      }
    }
  }
  return out;
}

const FILES = [...sources('src'), ...sources('bench')];
const GRAPH = new Map(FILES.map((f) => [f, staticImports(f)]));

test('the import graph of src/ and bench/ has no circle', () => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      circles.push([...trail.slice(trail.indexOf(f)), f].join(' → '));
      return;
    }
    state.set(f, 'open');
    for (const g of GRAPH.get(f) ?? []) visit(g, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of FILES) visit(f, []);
  assert.deepEqual(circles, []);
});

test('nothing in src/ imports bench/ statically, and src/engine never imports the editor', () => {
  const wrong = FILES.filter((f) => f.startsWith('src')).flatMap((f) =>
    (GRAPH.get(f) ?? []).filter((g) => g.startsWith('bench')).map((g) => `${f} → ${g}`));
  assert.deepEqual(wrong, []);
  const editor = sources(path.join('src', 'engine')).filter((f) =>
    /(?:from\s+|require\(\s*)['"]vscode['"]/.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  assert.deepEqual(editor, []);
});

test(`no source file of src/ or bench/ is over ${MAX_LINES} lines`, () => {
  const long = FILES.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > MAX_LINES)
    .map(([f, n]) => `${f}: ${n} lines`);
  assert.deepEqual(long, []);
});

test('the graph reader sees real edges (a reader that finds nothing would pass the tests above)', () => {
  assert.ok(GRAPH.get(path.join('src', 'vscode', 'controller.ts'))?.includes(path.join('src', 'vscode', 'provider.ts')));
  assert.ok(GRAPH.get(path.join('src', 'vscode', 'controller.ts'))?.includes(path.join('src', 'engine', 'process', 'engineHost.ts')));
  assert.ok(GRAPH.get(path.join('src', 'engine', 'process', 'engineProcess.ts'))?.includes(path.join('src', 'engine', 'process', 'engine.ts')));
});
